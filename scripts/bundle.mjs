// Bundles the CLI into dist/bundle: one file for the start-up path, a lazy chunk for each dynamic
// import. Start-up of `ops runs list` fell from ~133 ms to ~94 ms (bench/), mostly module resolution.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';

rmSync('dist/bundle', { recursive: true, force: true });

// pg picks its socket by asking whether it runs in a Cloudflare Worker; on Node 20 (no `navigator`)
// that means `new Response()`, which loads Node's whole fetch implementation (undici): ~20 ms of
// every PostgreSQL command's start-up (bench/pg-ledger.ts). ops runs on Node: its Node sockets only.
const pgNodeStreams = {
  name: 'pg-node-streams',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, () => ({
      loader: 'js',
      contents: "module.exports = { getStream: () => new (require('net').Socket)(), getSecureStream: (options) => require('tls').connect(options) };\n",
    }));
  },
};
await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // ESM builds first: a dynamic import() of bundled CommonJS would only expose `default`.
  mainFields: ['module', 'main'],
  outdir: 'dist/bundle',
  chunkNames: 'chunks/[name]-[hash]',
  // Native addons and js-yaml (loaded only to parse a changed config) stay in node_modules.
  external: ['dockerode', 'ssh2', 'cpu-features', 'js-yaml'],
  // Bundled CommonJS packages call require(); give them one.
  banner: { js: "import { createRequire as __opsCreateRequire } from 'node:module'; const require = __opsCreateRequire(import.meta.url);" },
  plugins: [pgNodeStreams],
  logLevel: 'warning',
});

// The report's chart library, inlined into every page it writes: no network, no CDN.
mkdirSync('dist/bundle/assets', { recursive: true });
for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) copyFileSync(`node_modules/uplot/dist/${file}`, `dist/bundle/assets/${file}`);
