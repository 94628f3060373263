import type { MaybePromise, Message } from '@robustmq/sdk';
import type { WireMessage, WireVerdict } from './guest.mjs';

/** Runs batches through one filter instance (in a worker or in the broker's thread). */
export interface FilterRunner {
  /** One verdict per message, or a rejection/throw with a {@link FilterFailure}. */
  run(batch: WireMessage[]): MaybePromise<WireVerdict[]>;
  /** One message, synchronously, where the runner has a faster path for it (in-thread). */
  runOne?(message: Message): WireVerdict;
  /** Stops the instance (terminates its worker). */
  stop(): Promise<void>;
}
