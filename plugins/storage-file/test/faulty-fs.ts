/** A StorageFs wrapper that counts syncs and fails writes or syncs on demand (errno codes). */
import { nodeFs, type StorageFile, type StorageFs } from '../src/index.js';

export interface Faults {
  /** errno code thrown by writev, e.g. 'ENOSPC'; undefined = healthy. */
  write?: string;
  /** errno code thrown by datasync. */
  sync?: string;
  /** errno code thrown by writeFileAtomic and open(create). */
  create?: string;
  /** When set, writev writes this many bytes of the first buffer before failing (a short write). */
  partialBytes?: number;
  datasyncs: number;
  writes: number;
}

const fail = (code: string) => Object.assign(new Error(`${code}: injected fault`), { code });

export function faultyFs(base: StorageFs = nodeFs): { fs: StorageFs; faults: Faults } {
  const faults: Faults = { datasyncs: 0, writes: 0 };
  const wrap = (file: StorageFile): StorageFile => ({
    read: (b, o, l, p) => file.read(b, o, l, p),
    async writev(buffers, position) {
      faults.writes++;
      if (faults.write) {
        if (faults.partialBytes) await file.writev([buffers[0].subarray(0, faults.partialBytes)], position);
        throw fail(faults.write);
      }
      return file.writev(buffers, position);
    },
    async datasync() {
      faults.datasyncs++;
      if (faults.sync) throw fail(faults.sync);
      return file.datasync();
    },
    truncate: (len) => file.truncate(len),
    size: () => file.size(),
    close: () => file.close(),
  });
  const fs: StorageFs = {
    ...base,
    async open(file, create) {
      if (create && faults.create) throw fail(faults.create);
      return wrap(await base.open(file, create));
    },
    async writeFileAtomic(file, data) {
      if (faults.create) throw fail(faults.create);
      return base.writeFileAtomic(file, data);
    },
  };
  return { fs, faults };
}
