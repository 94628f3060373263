/** CreateTopics, DeleteTopics, CreatePartitions and DescribeConfigs layouts. */
import { a, f } from '../protocol/schema.js';

export const CreateTopicsRequest = [
  a('topics', [
    f('name', 'string'),
    f('numPartitions', 'int32'),
    f('replicationFactor', 'int16'),
    a('assignments', [f('partitionIndex', 'int32'), a('brokerIds', 'int32')]),
    a('configs', [f('name', 'string'), f('value', 'string', '0+', { nullable: '0+' })]),
  ]),
  f('timeoutMs', 'int32'),
  f('validateOnly', 'bool', '1+'),
];
export const CreateTopicsResponse = [
  f('throttleTimeMs', 'int32', '2+'),
  a('topics', [
    f('name', 'string'),
    f('topicId', 'uuid', '7+'),
    f('errorCode', 'int16'),
    f('errorMessage', 'string', '1+', { nullable: '0+' }),
    f('topicConfigErrorCode', 'int16', '5+', { tag: 0 }),
    f('numPartitions', 'int32', '5+', { default: -1 }),
    f('replicationFactor', 'int16', '5+', { default: -1 }),
    a(
      'configs',
      [
        f('name', 'string'),
        f('value', 'string', '5+', { nullable: '5+' }),
        f('readOnly', 'bool'),
        f('configSource', 'int8', '5+', { default: -1 }),
        f('isSensitive', 'bool'),
      ],
      '5+',
      { nullable: '5+' },
    ),
  ]),
];

export const DeleteTopicsRequest = [
  a('topics', [f('name', 'string', '6+', { nullable: '6+' }), f('topicId', 'uuid', '6+')], '6+'),
  a('topicNames', 'string', '0-5'),
  f('timeoutMs', 'int32'),
];
export const DeleteTopicsResponse = [
  f('throttleTimeMs', 'int32', '1+'),
  a('responses', [
    f('name', 'string', '0+', { nullable: '6+' }),
    f('topicId', 'uuid', '6+'),
    f('errorCode', 'int16'),
    f('errorMessage', 'string', '5+', { nullable: '5+' }),
  ]),
];

export const CreatePartitionsRequest = [
  a('topics', [f('name', 'string'), f('count', 'int32'), a('assignments', [a('brokerIds', 'int32')], '0+', { nullable: '0+' })]),
  f('timeoutMs', 'int32'),
  f('validateOnly', 'bool'),
];
export const CreatePartitionsResponse = [
  f('throttleTimeMs', 'int32'),
  a('results', [f('name', 'string'), f('errorCode', 'int16'), f('errorMessage', 'string', '0+', { nullable: '0+' })]),
];

export const DescribeConfigsRequest = [
  a('resources', [
    f('resourceType', 'int8'),
    f('resourceName', 'string'),
    a('configurationKeys', 'string', '0+', { nullable: '0+' }),
  ]),
  f('includeSynonyms', 'bool', '1+'),
  f('includeDocumentation', 'bool', '3+'),
];
export const DescribeConfigsResponse = [
  f('throttleTimeMs', 'int32'),
  a('results', [
    f('errorCode', 'int16'),
    f('errorMessage', 'string', '0+', { nullable: '0+' }),
    f('resourceType', 'int8'),
    f('resourceName', 'string'),
    a('configs', [
      f('name', 'string'),
      f('value', 'string', '0+', { nullable: '0+' }),
      f('readOnly', 'bool'),
      f('isDefault', 'bool', '0'),
      f('configSource', 'int8', '1+', { default: -1 }),
      f('isSensitive', 'bool'),
      a('synonyms', [f('name', 'string'), f('value', 'string', '0+', { nullable: '0+' }), f('source', 'int8')], '1+'),
      f('configType', 'int8', '3+'),
      f('documentation', 'string', '3+', { nullable: '0+' }),
    ]),
  ]),
];

export const AlterConfigsRequest = [
  a('resources', [
    f('resourceType', 'int8'),
    f('resourceName', 'string'),
    a('configs', [f('name', 'string'), f('value', 'string', '0+', { nullable: '0+' })]),
  ]),
  f('validateOnly', 'bool'),
];
export const IncrementalAlterConfigsRequest = [
  a('resources', [
    f('resourceType', 'int8'),
    f('resourceName', 'string'),
    a('configs', [f('name', 'string'), f('configOperation', 'int8'), f('value', 'string', '0+', { nullable: '0+' })]),
  ]),
  f('validateOnly', 'bool'),
];
/** AlterConfigs and IncrementalAlterConfigs share the response layout. */
export const AlterConfigsResponse = [
  f('throttleTimeMs', 'int32'),
  a('responses', [
    f('errorCode', 'int16'),
    f('errorMessage', 'string', '0+', { nullable: '0+' }),
    f('resourceType', 'int8'),
    f('resourceName', 'string'),
  ]),
];
