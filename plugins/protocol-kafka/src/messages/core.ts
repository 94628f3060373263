/** ApiVersions and Metadata layouts. */
import { a, f } from '../protocol/schema.js';

export const ApiVersionsRequest = [f('clientSoftwareName', 'string', '3+'), f('clientSoftwareVersion', 'string', '3+')];
export const ApiVersionsResponse = [
  f('errorCode', 'int16'),
  a('apiKeys', [f('apiKey', 'int16'), f('minVersion', 'int16'), f('maxVersion', 'int16')]),
  f('throttleTimeMs', 'int32', '1+'),
];

export const MetadataRequest = [
  a('topics', [f('name', 'string')], '0+', { nullable: '1+' }),
  f('allowAutoTopicCreation', 'bool', '4+', { default: true }),
  f('includeClusterAuthorizedOperations', 'bool', '8-10'),
  f('includeTopicAuthorizedOperations', 'bool', '8+'),
];
export const MetadataResponse = [
  f('throttleTimeMs', 'int32', '3+'),
  a('brokers', [f('nodeId', 'int32'), f('host', 'string'), f('port', 'int32'), f('rack', 'string', '1+', { nullable: '1+' })]),
  f('clusterId', 'string', '2+', { nullable: '2+' }),
  f('controllerId', 'int32', '1+', { default: -1 }),
  a('topics', [
    f('errorCode', 'int16'),
    f('name', 'string'),
    f('isInternal', 'bool', '1+'),
    a('partitions', [
      f('errorCode', 'int16'),
      f('partitionIndex', 'int32'),
      f('leaderId', 'int32'),
      f('leaderEpoch', 'int32', '7+', { default: -1 }),
      a('replicaNodes', 'int32'),
      a('isrNodes', 'int32'),
      a('offlineReplicas', 'int32', '5+'),
    ]),
    f('topicAuthorizedOperations', 'int32', '8+', { default: -2147483648 }),
  ]),
  f('clusterAuthorizedOperations', 'int32', '8-10', { default: -2147483648 }),
];
