// The input digest alone, as its own process: Node start-up and scanContext, without the CLI,
// config or git. `node dist/bench/digest-scan.js <context dir>`
import { scanContext } from '../src/core/build/context.js';

const contextDir = process.argv[2];
if (!contextDir) throw new Error('usage: digest-scan.js <context dir>');
process.stdout.write(`${scanContext({ contextDir, dockerfile: 'Dockerfile', buildArgs: {} }).digest}\n`);
