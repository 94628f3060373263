/**
 * s3rver writes an object's bytes, then its `.md5`, then its metadata, as separate files, so a
 * kill mid-PUT can leave an object without metadata or with truncated bytes. S3 PUTs are atomic:
 * an interrupted PUT leaves nothing. Before the test server restarts on old data, this removes
 * every object whose metadata is missing or whose bytes do not match the recorded MD5.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

const OBJECT = '._S3rver_object';
const METADATA = '._S3rver_metadata.json';

async function exists(file: string): Promise<boolean> {
  return readFile(file).then(
    () => true,
    () => false,
  );
}

/** Returns the number of incomplete objects removed under `directory`. */
export async function removeIncompleteObjects(directory: string): Promise<number> {
  let removed = 0;
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith(OBJECT)) continue;
    const objectPath = join(entry.parentPath, entry.name);
    const base = objectPath.slice(0, -OBJECT.length);
    const md5 = await readFile(`${objectPath}.md5`, 'utf8').catch(() => undefined);
    const complete =
      md5 !== undefined &&
      (await exists(`${base}${METADATA}`)) &&
      createHash('md5')
        .update(await readFile(objectPath))
        .digest('hex') === md5.trim();
    if (complete) continue;
    await Promise.all([objectPath, `${objectPath}.md5`, `${base}${METADATA}`].map((f) => rm(f, { force: true })));
    removed++;
  }
  return removed;
}
