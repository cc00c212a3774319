import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseDocument } from 'yaml';

/**
 * The line of the YAML node at `path` (or of its nearest existing parent), for error messages.
 * Its own module so that the YAML parser loads only when there is an error to locate.
 */
export function lineOf(file: string, path: ReadonlyArray<PropertyKey>): number | undefined {
  if (file.endsWith('.json')) return undefined;
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter });
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}
