#!/usr/bin/env node
// The sidecar as a bundled build: esbuild compiles apps/sidecar/src/main.ts with the workspace
// libraries it imports (through their "@meshwork/source" entry points) and its npm dependencies
// into dist/bundle/ — main.js (the launcher, with the shebang's V8 flags) plus chunks that only the
// modes needing them load (managed mode's discovery client, the CA client; each behind a dynamic
// import in start-sidecar.ts), and config-worker.js, the child process that reads a --config
// directory with the YAML loader (the sidecar's own process never loads it). Node then keeps one
// module record and one source string per chunk instead of ~600 files: about 7–10 MB less resident memory and half the start-up
// time (bench/proxy/README.md, "Idle memory"). The dev path (`tsx --conditions=@meshwork/source
// src/main.ts`) and the per-file `tsc -b` build in dist/ are unchanged.
// Usage: node apps/sidecar/bundle-sidecar.mjs [--metafile FILE] [--outdir DIR]   (or: npx nx run sidecar:bundle)
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const { values: opts } = parseArgs({ options: { metafile: { type: "string" }, outdir: { type: "string" } } });
const APP = import.meta.dirname;
// --outdir: another place (tests bundle into a temporary directory).
const OUT = opts.outdir !== undefined ? resolve(opts.outdir) : join(APP, "dist/bundle");

rmSync(OUT, { recursive: true, force: true });
const result = await build({
  // config-worker.js: the thread that reads and validates a --config directory
  // (src/config/load-config-in-worker.ts finds it beside the module that starts it).
  entryPoints: { main: join(APP, "src/main.ts"), "config-worker": join(APP, "src/config/config-worker.ts") },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  conditions: ["@meshwork/source"],
  // grpc-js finds its .proto files next to its own sources (__dirname): it stays a node_modules
  // package, loaded by managed mode only.
  external: ["@grpc/grpc-js", "@grpc/proto-loader"],
  // CommonJS dependencies bundled into ES modules call require() for Node's built-ins.
  banner: { js: 'import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire(import.meta.url);' },
  // Without whitespace and comments the chunks are smaller and ASCII-only (esbuild escapes
  // non-ASCII in literals; a single "→" left in a comment makes V8 hold a whole chunk's source as
  // a two-byte string, twice its size). Names and syntax stay: stack traces keep function names,
  // and the linked source maps give the lines (node --enable-source-maps).
  minifyWhitespace: true,
  sourcemap: "linked",
  metafile: opts.metafile !== undefined,
  logLevel: "warning",
});
// esbuild escapes non-ASCII characters in strings but leaves them in regular expression literals
// (a "μs" unit pattern): escape those too, so that every chunk is ASCII and V8 keeps it as a
// one-byte string. `\uXXXX` means the same character in a regular expression, string or identifier.
for (const name of readdirSync(OUT)) {
  if (!name.endsWith(".js")) continue;
  const file = join(OUT, name);
  const text = readFileSync(file, "utf8");
  // eslint-disable-next-line no-control-regex
  const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (ascii !== text) writeFileSync(file, ascii);
}
chmodSync(join(OUT, "main.js"), 0o755);
if (opts.metafile !== undefined) {
  const { writeFileSync } = await import("node:fs");
  writeFileSync(opts.metafile, JSON.stringify(result.metafile));
}
process.stdout.write(`sidecar bundle: ${join(OUT, "main.js")}\n`);
