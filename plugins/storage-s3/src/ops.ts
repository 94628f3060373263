/**
 * The operations recorded in `log/<seq>` objects. Replaying them in sequence order rebuilds the
 * whole store state; they are deterministic and carry everything they need.
 */
import type { TopicConfig } from '@robustmq/sdk';

/** Where a run of a partition's batches lives. Offsets inclusive; `start` per the op's context. */
export interface RangeRef {
  base: number;
  last: number;
  start: number;
  len: number;
  /** Smallest and largest record timestamp in the range. */
  fts: number;
  mts: number;
}

export type Op =
  /** A writer took over the prefix (first object it writes). */
  | { t: 'claim'; epoch: number; writer: string }
  | { t: 'topic'; topic: string; id: string; config: TopicConfig }
  | { t: 'untopic'; topic: string }
  | { t: 'config'; topic: string; patch: Partial<Omit<TopicConfig, 'partitions'>> }
  | { t: 'grow'; topic: string; total: number }
  /** Batches in this object's data section (`start` relative to it). */
  | ({ t: 'append'; topic: string; p: number } & RangeRef)
  /** Advance a partition's log start offset. */
  | { t: 'trim'; topic: string; p: number; start: number }
  /** Metadata put (base64 value) or delete. */
  | { t: 'put'; k: string; v: string }
  | { t: 'del'; k: string }
  /**
   * Batches of `sources` now live in `object` (absolute `start`). Entries are per topic
   * incarnation `id`, so a topic deleted and re-created meanwhile is left alone.
   */
  | {
      t: 'compact';
      object: string;
      size: number;
      lo: number;
      hi: number;
      sources: string[];
      entries: Array<{ topic: string; id: string; p: number } & RangeRef>;
    };
