/** File and directory names of the on-disk layout (see README.md). */
import { createHash } from 'node:crypto';

export const LOCK_FILE = '.lock';
export const LOGS_DIR = 'logs';
export const META_DIR = 'meta';
export const TOPIC_FILE = 'topic.json';
export const LOG_START_FILE = 'log-start-offset';
/** Marker in a partition directory: compaction ran, so offsets may have gaps. */
export const COMPACTED_FILE = 'compacted';
/** Suffix of a segment being rewritten by compaction (removed at start-up). */
export const CLEANED_SUFFIX = '.cleaned';
/** Directories and files renamed with this prefix are being deleted; startup removes leftovers. */
export const TRASH_PREFIX = '.trash-';

const MAX_DIR_NAME = 200;

/**
 * Maps a topic name to a directory name: `[A-Za-z0-9_-]` stay, every other UTF-8 byte becomes
 * `%XX` (so `/` and `.` can never escape the logs directory). Names too long for a file system
 * entry are cut and suffixed with a hash. The real name is kept in `topic.json`.
 */
export function topicDirName(topic: string): string {
  let out = '';
  for (const byte of Buffer.from(topic, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length <= MAX_DIR_NAME) return out;
  const hash = createHash('sha256').update(topic).digest('hex').slice(0, 32);
  return `${out.slice(0, MAX_DIR_NAME - 33)}~${hash}`;
}

/** 20-digit zero-padded offset, so segment files sort by name. */
export function offsetName(offset: number): string {
  return String(offset).padStart(20, '0');
}

export const segmentFile = (base: number) => `${offsetName(base)}.log`;
export const indexFile = (base: number) => `${offsetName(base)}.index`;
export const timeIndexFile = (base: number) => `${offsetName(base)}.timeindex`;

/** Parses `00000000000000000042.log` → 42; undefined for other names. */
export function parseSegmentFile(name: string): number | undefined {
  const m = /^(\d{20})\.log$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
