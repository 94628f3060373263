import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/**
 * Calls `onChange` (debounced) when any of `files` changes. Watches the parent directories, not the
 * files, so editors that save by writing a new file and renaming it over the old one are seen too.
 * Returns a function that stops watching.
 */
export function watchFiles(files: readonly string[], onChange: () => void, debounceMs = 100): () => void {
  const byDir = new Map<string, Set<string>>();
  for (const f of files) {
    const abs = resolve(f);
    const dir = dirname(abs);
    if (!byDir.has(dir)) byDir.set(dir, new Set());
    byDir.get(dir)!.add(basename(abs));
  }
  let timer: NodeJS.Timeout | undefined;
  const trigger = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    const w = watch(dir, { persistent: false }, (_event, name) => {
      // Some platforms omit the name: then any change in the directory counts.
      if (name === null || names.has(name.toString())) trigger();
    });
    // A vanished directory must not crash the broker; the next reload will report the missing file.
    w.on('error', () => {});
    watchers.push(w);
  }
  return () => {
    if (timer) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
