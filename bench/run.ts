/**
 * `npm run bench [-- name ...]`: runs the benchmark suites (all by default) one after another in
 * this process's children-free sequence, prints each section and writes bench/RESULTS.md.
 * Each suite is a module exporting `main(): Promise<string>` that returns a markdown section.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const SUITES = ['router', 'storage-file', 'storage-s3', 'mqtt', 'kafka', 'amqp', 'filters'];

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const selected = wanted.length > 0 ? wanted : SUITES;
const sections: string[] = [];

for (const name of selected) {
  const file = path.join(here, `${name}.ts`);
  if (!existsSync(file)) {
    sections.push(`## ${name}\n\nNot built yet (bench/${name}.ts is missing).\n`);
    continue;
  }
  process.stdout.write(`\n=== bench ${name} ===\n`);
  const mod = (await import(pathToFileURL(file).href)) as { main: () => Promise<string> };
  const section = await mod.main();
  process.stdout.write(`${section}\n`);
  sections.push(section);
}

if (wanted.length === 0) {
  const header = [
    '# Benchmark results',
    '',
    `Command: \`npm run bench\` — ${new Date().toISOString()}, ${os.cpus().length} cores, Node ${process.version}.`,
    'Absolute figures on these shared 2-core machines are noise; read the ratios.',
    '',
  ].join('\n');
  await writeFile(path.join(here, 'RESULTS.md'), `${header}\n${sections.join('\n')}`);
}
