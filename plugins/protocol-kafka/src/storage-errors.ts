import { StorageError } from '@robustmq/sdk';
import { ErrorCode } from './protocol/errors.js';

/** Maps a LogStore error to the Kafka error code a client understands. */
export function storageErrorCode(err: unknown): number {
  if (err instanceof StorageError || (err as { code?: unknown })?.code !== undefined) {
    switch ((err as StorageError).code) {
      case 'unknown-topic':
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      case 'corrupt':
        return ErrorCode.CORRUPT_MESSAGE;
      case 'offset-out-of-range':
        return ErrorCode.OFFSET_OUT_OF_RANGE;
      case 'fenced':
        return ErrorCode.NOT_LEADER_OR_FOLLOWER;
      case 'disk-full':
      case 'io':
      case 'closed':
      case 'unavailable':
        return ErrorCode.KAFKA_STORAGE_ERROR;
    }
  }
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}
