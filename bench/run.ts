/**
 * `npm run bench [-- name ...]`: runs the benchmark suites (all by default) one after another,
 * prints each section, then assembles bench/RESULTS.md from every suite's latest result file
 * (bench/results/<suite>.md, which each suite writes with its own command, date and load).
 * Each suite is a module exporting `main(): Promise<string>` returning its markdown section.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const SUITES = ['router', 'storage-file', 'storage-s3', 'mqtt', 'kafka', 'amqp', 'filters'];

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const assembleOnly = process.argv.includes('--assemble');
const selected = assembleOnly ? [] : wanted.length > 0 ? wanted : SUITES;

for (const name of selected) {
  const file = path.join(here, `${name}.ts`);
  if (!existsSync(file)) throw new Error(`no benchmark suite bench/${name}.ts (suites: ${SUITES.join(', ')})`);
  process.stdout.write(`\n=== bench ${name} ===\n`);
  const mod = (await import(pathToFileURL(file).href)) as { main: () => Promise<string> };
  const section = await mod.main();
  process.stdout.write(`${section}\n`);
  // Suites that do not write their own result file get it written here.
  const result = path.join(here, 'results', `${name}.md`);
  if (!existsSync(result)) await writeFile(result, `${section}\n`);
}

const sections: string[] = [];
for (const name of SUITES) {
  const result = path.join(here, 'results', `${name}.md`);
  sections.push(
    existsSync(result) ? await readFile(result, 'utf8') : `## ${name}\n\nNo result yet: run \`npm run bench -- ${name}\`.\n`,
  );
}
const header = [
  '# Benchmark results',
  '',
  `Assembled by \`npm run bench\` on ${new Date().toISOString()} (${os.cpus().length} cores, Node ${process.version}) from`,
  "each suite's latest run in bench/results/; every section names its own command, date and machine load.",
  'Absolute figures on these shared 2-core machines are noise; read the ratios. Re-run one suite with',
  '`npm run bench -- <suite>` (suites: ' + SUITES.join(', ') + '), or only re-assemble with `npm run bench -- --assemble`.',
  '',
].join('\n');
await writeFile(path.join(here, 'RESULTS.md'), `${header}\n${sections.join('\n')}`);
