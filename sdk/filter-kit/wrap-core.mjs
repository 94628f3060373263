#!/usr/bin/env node
// Wraps a core WebAssembly module that implements the robustmq:filter world's canonical ABI by
// hand (C, Rust without wit-bindgen, AssemblyScript, WAT...) into a filter component:
//
//   node <sdk>/filter-kit/wrap-core.mjs build/core.wasm -o build/filter.wasm [--wit DIR] [--world NAME]
//
// Runs `jco embed` (adds the WIT types) then `jco new` (makes the component), and prints the sha256.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
let out = 'build/filter.wasm';
let wit = resolve(here, '../wit');
let world = 'filter';
let core;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '-o') out = args[++i];
  else if (a === '--wit') wit = args[++i];
  else if (a === '--world') world = args[++i];
  else if (!a.startsWith('-') && core === undefined) core = a;
  else fail(`unknown argument ${a}\nusage: wrap-core.mjs <core.wasm> [-o out.wasm] [--wit DIR] [--world NAME]`);
}
if (!core) fail('usage: wrap-core.mjs <core.wasm> [-o out.wasm] [--wit DIR] [--world NAME]');

const require = createRequire(import.meta.url);
let jcoDir = dirname(require.resolve('@bytecodealliance/jco'));
while (basename(jcoDir) !== 'jco') jcoDir = dirname(jcoDir);
const jco = resolve(jcoDir, 'dist/jco.js');
const preload = ['--import', pathToFileURL(resolve(here, 'preopens.mjs')).href];
const run = (argv) => {
  const r = spawnSync(process.execPath, [...preload, jco, ...argv], { encoding: 'utf8' });
  if (r.status !== 0) fail(`jco ${argv[0]} failed:\n${r.stderr || r.stdout}`);
};
const embedded = `${resolve(out)}.embedded`;
run(['embed', resolve(core), '--wit', resolve(wit), '--world-name', world, '-o', embedded]);
run(['new', embedded, '-o', resolve(out)]);
rmSync(embedded, { force: true });
const bytes = readFileSync(out);
process.stdout.write(`built ${out} (${bytes.length} bytes)\nsha256 ${createHash('sha256').update(bytes).digest('hex')}\n`);
