import type { MaybePromise } from '@robustmq/sdk';
import type { WireMessage, WireVerdict } from './guest.mjs';

/** Runs batches through one filter instance (in a worker or in the broker's thread). */
export interface FilterRunner {
  /** One verdict per message, or a rejection/throw with a {@link FilterFailure}. */
  run(batch: WireMessage[]): MaybePromise<WireVerdict[]>;
  /** Stops the instance (terminates its worker). */
  stop(): Promise<void>;
}
