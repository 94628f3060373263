/** Produce, Fetch, ListOffsets and InitProducerId layouts. */
import { a, f } from '../protocol/schema.js';

export const ProduceRequest = [
  f('transactionalId', 'string', '3+', { nullable: '3+' }),
  f('acks', 'int16'),
  f('timeoutMs', 'int32'),
  a('topicData', [
    f('name', 'string'),
    a('partitionData', [f('index', 'int32'), f('records', 'records', '0+', { nullable: '0+' })]),
  ]),
];
export const ProduceResponse = [
  a('responses', [
    f('name', 'string'),
    a('partitionResponses', [
      f('index', 'int32'),
      f('errorCode', 'int16'),
      f('baseOffset', 'int64'),
      f('logAppendTimeMs', 'int64', '2+', { default: -1 }),
      f('logStartOffset', 'int64', '5+', { default: -1 }),
      a('recordErrors', [f('batchIndex', 'int32'), f('batchIndexErrorMessage', 'string', '8+', { nullable: '8+' })], '8+'),
      f('errorMessage', 'string', '8+', { nullable: '8+' }),
    ]),
  ]),
  f('throttleTimeMs', 'int32', '1+'),
];

export const FetchRequest = [
  f('clusterId', 'string', '12+', { nullable: '12+', tag: 0 }),
  f('replicaId', 'int32'),
  f('maxWaitMs', 'int32'),
  f('minBytes', 'int32'),
  f('maxBytes', 'int32', '3+', { default: 0x7fffffff }),
  f('isolationLevel', 'int8', '4+'),
  f('sessionId', 'int32', '7+'),
  f('sessionEpoch', 'int32', '7+', { default: -1 }),
  a('topics', [
    f('topic', 'string'),
    a('partitions', [
      f('partition', 'int32'),
      f('currentLeaderEpoch', 'int32', '9+', { default: -1 }),
      f('fetchOffset', 'int64'),
      f('lastFetchedEpoch', 'int32', '12+', { default: -1 }),
      f('logStartOffset', 'int64', '5+', { default: -1 }),
      f('partitionMaxBytes', 'int32'),
    ]),
  ]),
  a('forgottenTopicsData', [f('topic', 'string'), a('partitions', 'int32')], '7+'),
  f('rackId', 'string', '11+'),
];
export const FetchResponse = [
  f('throttleTimeMs', 'int32', '1+'),
  f('errorCode', 'int16', '7+'),
  f('sessionId', 'int32', '7+'),
  a('responses', [
    f('topic', 'string'),
    a('partitions', [
      f('partitionIndex', 'int32'),
      f('errorCode', 'int16'),
      f('highWatermark', 'int64'),
      f('lastStableOffset', 'int64', '4+', { default: -1 }),
      f('logStartOffset', 'int64', '5+', { default: -1 }),
      a('abortedTransactions', [f('producerId', 'int64'), f('firstOffset', 'int64')], '4+', { nullable: '4+' }),
      f('preferredReadReplica', 'int32', '11+', { default: -1 }),
      f('records', 'records', '0+', { nullable: '0+' }),
    ]),
  ]),
];

export const ListOffsetsRequest = [
  f('replicaId', 'int32'),
  f('isolationLevel', 'int8', '2+'),
  a('topics', [
    f('name', 'string'),
    a('partitions', [
      f('partitionIndex', 'int32'),
      f('currentLeaderEpoch', 'int32', '4+', { default: -1 }),
      f('timestamp', 'int64'),
      f('maxNumOffsets', 'int32', '0', { default: 1 }),
    ]),
  ]),
];
export const ListOffsetsResponse = [
  f('throttleTimeMs', 'int32', '2+'),
  a('topics', [
    f('name', 'string'),
    a('partitions', [
      f('partitionIndex', 'int32'),
      f('errorCode', 'int16'),
      a('oldStyleOffsets', 'int64', '0'),
      f('timestamp', 'int64', '1+', { default: -1 }),
      f('offset', 'int64', '1+', { default: -1 }),
      f('leaderEpoch', 'int32', '4+', { default: -1 }),
    ]),
  ]),
];

export const InitProducerIdRequest = [
  f('transactionalId', 'string', '0+', { nullable: '0+' }),
  f('transactionTimeoutMs', 'int32'),
  f('producerId', 'int64', '3+', { default: -1 }),
  f('producerEpoch', 'int16', '3+', { default: -1 }),
];
export const InitProducerIdResponse = [
  f('throttleTimeMs', 'int32'),
  f('errorCode', 'int16'),
  f('producerId', 'int64', '0+', { default: -1 }),
  f('producerEpoch', 'int16'),
];
