// Builds filter components for the tests, two at a time (the machine has two cores).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const fixturesDir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const buildScript = join(repoRoot, 'sdk/filter-kit/build.mjs');

export interface BuildSpec {
  name: string;
  entry: string;
  wit?: string;
  world?: string;
  wasi?: boolean;
  /** Where the committed build lives (examples: build/filter.wasm; fixtures: fixtures/build/). */
  committed: string;
}

export interface Built {
  name: string;
  path: string;
  sha256: string;
}

function buildOne(spec: BuildSpec, outDir: string): Promise<Built> {
  const out = join(outDir, `${spec.name}.wasm`);
  const args = [buildScript, spec.entry, '-o', out];
  if (spec.wit) args.push('--wit', spec.wit);
  if (spec.world) args.push('--world', spec.world);
  if (spec.wasi) args.push('--wasi');
  return new Promise((resolveBuild, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('exit', async (code) => {
      if (code !== 0) return reject(new Error(`building ${spec.name} failed: ${stderr}`));
      const bytes = await readFile(out);
      resolveBuild({ name: spec.name, path: out, sha256: createHash('sha256').update(bytes).digest('hex') });
    });
  });
}

/** Builds every spec into `outDir`, two builds at a time. */
export async function buildAll(specs: BuildSpec[], outDir: string): Promise<Record<string, Built>> {
  await mkdir(outDir, { recursive: true });
  const result: Record<string, Built> = {};
  const queue = [...specs];
  const lane = async () => {
    for (let s = queue.shift(); s; s = queue.shift()) result[s.name] = await buildOne(s, outDir);
  };
  await Promise.all([lane(), lane()]);
  return result;
}

/** A WIT directory for the read-file fixture: its world, the filter package and the WASI packages it needs. */
export async function readFileWit(dir: string): Promise<string> {
  const wit = join(dir, 'read-file-wit');
  await mkdir(join(wit, 'deps/robustmq-filter'), { recursive: true });
  await copyFile(join(fixturesDir, 'read-file/world.wit'), join(wit, 'world.wit'));
  await copyFile(join(repoRoot, 'sdk/wit/filter.wit'), join(wit, 'deps/robustmq-filter/filter.wit'));
  const builtin = resolve(repoRoot, 'node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12');
  for (const pkg of ['wasi-filesystem', 'wasi-io', 'wasi-clocks'])
    await cp(join(builtin, pkg), join(wit, 'deps', pkg), { recursive: true });
  return wit;
}

/** The example filters and test fixtures. */
export async function standardSpecs(tmp?: string): Promise<BuildSpec[]> {
  const ex = (n: string) => ({
    name: n,
    entry: join(repoRoot, 'examples/filters', n, 'src/filter.ts'),
    committed: join(repoRoot, 'examples/filters', n, 'build/filter.wasm'),
  });
  const fx = (n: string, entry = `${n}.ts`) => ({
    name: n,
    entry: join(fixturesDir, entry),
    committed: join(fixturesDir, 'build', `${n}.wasm`),
  });
  return [
    ex('drop-debug'),
    ex('route-by-field'),
    ex('redact'),
    fx('trap'),
    fx('loop'),
    fx('memory-hog'),
    fx('headers'),
    fx('throws'),
    {
      ...fx('read-file', 'read-file/read-file.js'),
      wit: tmp ? await readFileWit(tmp) : undefined,
      world: 'read-file',
      wasi: true,
    },
  ];
}

/** The AssemblyScript example: asc, then the kit's wrap-core.mjs (both deterministic). */
export const assemblyScriptExample = join(repoRoot, 'examples/filters/drop-debug-as');

function run(argv: string[], cwd: string): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('exit', (code) => (code === 0 ? resolveRun() : reject(new Error(`${argv.join(' ')} failed: ${stderr}`))));
  });
}

/** Builds the AssemblyScript example into `outDir`. */
export async function buildAssemblyScript(outDir: string): Promise<Built> {
  await mkdir(outDir, { recursive: true });
  const core = join(outDir, 'drop-debug-as.core.wasm');
  const out = join(outDir, 'drop-debug-as.wasm');
  const asc = join(repoRoot, 'node_modules/assemblyscript/bin/asc.js');
  await run(
    [asc, 'assembly/index.ts', '-o', core, '--runtime', 'stub', '-O3', '--noAssert', '--use', 'abort='],
    assemblyScriptExample,
  );
  await run([join(repoRoot, 'sdk/filter-kit/wrap-core.mjs'), core, '-o', out], assemblyScriptExample);
  const bytes = await readFile(out);
  return { name: 'drop-debug-as', path: out, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The committed builds, by name, with their sha256. */
export async function committedBuilds(): Promise<Record<string, Built>> {
  const out: Record<string, Built> = {};
  const as = join(assemblyScriptExample, 'build/filter.wasm');
  out['drop-debug-as'] = {
    name: 'drop-debug-as',
    path: as,
    sha256: createHash('sha256')
      .update(await readFile(as))
      .digest('hex'),
  };
  for (const s of await standardSpecs()) {
    const bytes = await readFile(s.committed);
    out[s.name] = { name: s.name, path: s.committed, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  return out;
}

// `npx tsx kernel/test/filters/build.ts [name...]` rebuilds the examples and fixtures in place.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const tmp = await mkdtemp(join(tmpdir(), 'robustmq-build-'));
  const only = process.argv.slice(2);
  const specs = (await standardSpecs(tmp)).filter((s) => only.length === 0 || only.includes(s.name));
  const built = await buildAll(specs, join(tmp, 'out'));
  for (const s of specs) {
    await mkdir(dirname(s.committed), { recursive: true });
    await copyFile(built[s.name].path, s.committed);
    process.stdout.write(`${s.committed} ${built[s.name].sha256}\n`);
  }
  await rm(tmp, { recursive: true, force: true });
}
