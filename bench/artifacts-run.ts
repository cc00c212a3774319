// Child of bench/artifacts.ts: one SQLite ledger's artifacts stored and read back through its
// private folder and through the blob tables (as a PostgreSQL ledger keeps them), side by side.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderBlobs, LedgerBlobs, type BlobPlace } from '../src/core/models/artifacts.js';
import { Ledger } from '../src/ledger/index.js';

const SHAPES = [
  { label: '300 files of 4 KiB', files: 300, bytes: 4096 },
  { label: '20 files of 1 MiB', files: 20, bytes: 1 << 20 },
  { label: '2 files of 48 MiB', files: 2, bytes: 48 << 20 },
];
const ROUNDS = 3;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed(place: BlobPlace, paths: string[]): Promise<{ putMs: number; readMs: number }> {
  let started = performance.now();
  const digests: string[] = [];
  for (const path of paths) digests.push((await place.putFile(path)).digest);
  const putMs = performance.now() - started;
  started = performance.now();
  for (const digest of digests) await place.read(digest);
  return { putMs, readMs: performance.now() - started };
}

const results = [];
for (const shape of SHAPES) {
  const rounds: Array<{ folder: { putMs: number; readMs: number }; table: { putMs: number; readMs: number } }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const dir = mkdtempSync(join(tmpdir(), 'ops-bench-artifacts-'));
    try {
      const paths = Array.from({ length: shape.files }, (_, i) => {
        const bytes = Buffer.alloc(shape.bytes);
        for (let b = 0; b < bytes.length; b += 4) bytes.writeUInt32LE((b * 2654435761 + i * 40503 + round) >>> 0, b);
        const path = join(dir, `f${i}`);
        writeFileSync(path, bytes);
        return path;
      });
      const ledger = Ledger.open(join(dir, 'ledger.db'));
      const folder = await timed(FolderBlobs.beside(join(dir, 'ledger.db')), paths);
      const table = await timed(new LedgerBlobs(ledger.blobs, () => Date.now()), paths);
      await ledger.close();
      rounds.push({ folder, table });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const pick = (side: 'folder' | 'table', what: 'putMs' | 'readMs') => median(rounds.map((r) => r[side][what]));
  results.push({
    label: shape.label,
    folder: { putMs: pick('folder', 'putMs'), readMs: pick('folder', 'readMs') },
    table: { putMs: pick('table', 'putMs'), readMs: pick('table', 'readMs') },
  });
}
process.stdout.write(JSON.stringify(results));
