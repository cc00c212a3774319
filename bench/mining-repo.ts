import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { seededRandom } from '../src/core/forest/forest.js';
import { cached } from './lib.js';

const COMMITS = 20_000;
const FILES = 2_000;
const AUTHORS = 60;

/**
 * A repository of 20,000 commits over 2,000 files (20 subsystems x 10 directories x 10 files), built
 * once with `git fast-import` and cached: Zipf-like file popularity and author activity, one to a
 * dozen files per commit, edits that add, delete and change lines, renames and deletions, and a
 * "fix" in about one commit in seven (for SZZ).
 */
export function miningRepository(): string {
  return cached('mining-20k', buildRepository);
}

function buildRepository(building: string): void {
  mkdirSync(building, { recursive: true });
  const git = (args: string[], input?: Buffer) => {
    const result = spawnSync('git', args, { cwd: building, input, maxBuffer: 1 << 28 });
    if (result.status !== 0) throw new Error(`git ${args[0]} failed: ${result.stderr.toString()}`);
    return result.stdout.toString();
  };
  git(['init', '-q', '-b', 'main']);

  const random = seededRandom(20_000);
  const pick = (n: number, skew: number) => Math.min(n - 1, Math.floor(n * random() ** skew));
  const paths = Array.from({ length: FILES }, (_, i) => `sub${i % 20}/dir${Math.floor(i / 20) % 10}/file${Math.floor(i / 200)}.js`);
  const contents: Array<string[] | null> = new Array(FILES).fill(null);
  let nextLine = 0;
  const newLine = () => `const v${nextLine++} = compute(${nextLine % 97}, "${(nextLine * 2654435761 >>> 0).toString(36)}");`;
  const chunks: Buffer[] = [];
  const emit = (text: string) => chunks.push(Buffer.from(text));
  let at = Date.UTC(2015, 0, 1) / 1000;
  let created = 0;

  for (let c = 0; c < COMMITS; c++) {
    at += Math.floor(random() * 8 * 3600);
    const author = pick(AUTHORS, 2.5);
    const fix = c > 200 && random() < 0.15;
    const touched = new Set<number>();
    // The first commits create the files; later ones mostly edit popular ones, sometimes add more.
    const count = 1 + Math.floor(random() ** 3 * 12);
    for (let k = 0; k < count; k++) {
      if (created < FILES && (c < 400 || random() < 0.05)) touched.add(created++);
      else if (created > 0) touched.add(pick(created, 2));
    }
    const message = fix ? `fix: bug in ${paths[[...touched][0]!]}` : `change ${c}: update ${touched.size} files`;
    emit(`commit refs/heads/main\nauthor Dev${author} <dev${author}@example.test> ${at} +0000\ncommitter Dev${author} <dev${author}@example.test> ${at} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n`);
    for (const file of touched) {
      const lines = contents[file];
      if (lines && random() < 0.004) {
        emit(`D ${paths[file]}\n`);
        contents[file] = null;
        continue;
      }
      if (lines && random() < 0.004) {
        const to = paths[file]!.replace(/\.js$/, `_v${c}.js`);
        emit(`R ${paths[file]} ${to}\n`);
        paths[file] = to;
        continue;
      }
      const body = lines ?? Array.from({ length: 20 + Math.floor(random() * 80) }, newLine);
      if (lines) {
        const changed = 1 + Math.floor(random() ** 2 * 15);
        for (let k = 0; k < changed; k++) body[Math.floor(random() * body.length)] = newLine();
        const added = Math.floor(random() ** 2 * 30);
        body.splice(Math.floor(random() * body.length), 0, ...Array.from({ length: added }, newLine));
        const deleted = Math.min(body.length - 5, Math.floor(random() ** 3 * 20));
        if (deleted > 0) body.splice(Math.floor(random() * (body.length - deleted)), deleted);
      }
      contents[file] = body;
      const text = `${body.join('\n')}\n`;
      emit(`M 100644 inline ${paths[file]}\ndata ${Buffer.byteLength(text)}\n${text}\n`);
    }
  }
  git(['fast-import', '--quiet'], Buffer.concat(chunks));
  git(['reset', '-q', '--hard', 'main']);
  git(['gc', '-q']);
}
