/**
 * Object names under the configured prefix.
 *
 * - `log/<seq>`: the write-ahead log of the whole store, one object per flush, created with
 *   `If-None-Match: *`. The sequence is gap-free; whoever creates `log/<n>` owns position n, which
 *   is how two writers on one prefix fence each other. Each object carries its operations (JSON)
 *   and the appended record batches, and stays the home of those batches until compaction.
 * - `data/<seq>-<epoch>-<nonce>`: compacted data (batches of many log objects merged per
 *   partition), written before the log operation that points the index at it; `seq` is the log
 *   position current when it was written.
 * - `snapshot/<seq>`: the whole state (topics, offset index, metadata) after applying `log/<seq>`.
 */

const WIDTH = 16;

const pad = (n: number) => String(n).padStart(WIDTH, '0');

export const LOG_DIR = 'log/';
export const DATA_DIR = 'data/';
export const SNAPSHOT_DIR = 'snapshot/';

export const logKey = (seq: number) => `${LOG_DIR}${pad(seq)}`;
export const snapshotKey = (seq: number) => `${SNAPSHOT_DIR}${pad(seq)}`;
export const dataKey = (seq: number, epoch: number, nonce: string) => `${DATA_DIR}${pad(seq)}-${epoch}-${nonce}`;

/** The sequence number in a `log/`, `snapshot/` or `data/` key (NaN for foreign keys). */
export function seqOf(key: string): number {
  const name = key.slice(key.indexOf('/') + 1);
  return /^\d{16}/.test(name) ? Number(name.slice(0, WIDTH)) : Number.NaN;
}
