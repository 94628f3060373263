/** Consumer group coordinator layouts. */
import { a, f } from '../protocol/schema.js';

export const FindCoordinatorRequest = [
  f('key', 'string', '0-3'),
  f('keyType', 'int8', '1+'),
  a('coordinatorKeys', 'string', '4+'),
];
export const FindCoordinatorResponse = [
  f('throttleTimeMs', 'int32', '1+'),
  f('errorCode', 'int16', '0-3'),
  f('errorMessage', 'string', '1-3', { nullable: '1-3' }),
  f('nodeId', 'int32', '0-3'),
  f('host', 'string', '0-3'),
  f('port', 'int32', '0-3'),
  a(
    'coordinators',
    [
      f('key', 'string'),
      f('nodeId', 'int32'),
      f('host', 'string'),
      f('port', 'int32'),
      f('errorCode', 'int16'),
      f('errorMessage', 'string', '0+', { nullable: '0+' }),
    ],
    '4+',
  ),
];

export const JoinGroupRequest = [
  f('groupId', 'string'),
  f('sessionTimeoutMs', 'int32'),
  f('rebalanceTimeoutMs', 'int32', '1+', { default: -1 }),
  f('memberId', 'string'),
  f('groupInstanceId', 'string', '5+', { nullable: '5+' }),
  f('protocolType', 'string'),
  a('protocols', [f('name', 'string'), f('metadata', 'bytes')]),
  f('reason', 'string', '8+', { nullable: '8+' }),
];
export const JoinGroupResponse = [
  f('throttleTimeMs', 'int32', '2+'),
  f('errorCode', 'int16'),
  f('generationId', 'int32', '0+', { default: -1 }),
  f('protocolType', 'string', '7+', { nullable: '7+' }),
  f('protocolName', 'string', '0+', { nullable: '7+' }),
  f('leader', 'string'),
  f('skipAssignment', 'bool', '9+'),
  f('memberId', 'string'),
  a('members', [f('memberId', 'string'), f('groupInstanceId', 'string', '5+', { nullable: '5+' }), f('metadata', 'bytes')]),
];

export const SyncGroupRequest = [
  f('groupId', 'string'),
  f('generationId', 'int32'),
  f('memberId', 'string'),
  f('groupInstanceId', 'string', '3+', { nullable: '3+' }),
  f('protocolType', 'string', '5+', { nullable: '5+' }),
  f('protocolName', 'string', '5+', { nullable: '5+' }),
  a('assignments', [f('memberId', 'string'), f('assignment', 'bytes')]),
];
export const SyncGroupResponse = [
  f('throttleTimeMs', 'int32', '1+'),
  f('errorCode', 'int16'),
  f('protocolType', 'string', '5+', { nullable: '5+' }),
  f('protocolName', 'string', '5+', { nullable: '5+' }),
  f('assignment', 'bytes', '0+', { default: Buffer.alloc(0) }),
];

export const HeartbeatRequest = [
  f('groupId', 'string'),
  f('generationId', 'int32'),
  f('memberId', 'string'),
  f('groupInstanceId', 'string', '3+', { nullable: '3+' }),
];
export const HeartbeatResponse = [f('throttleTimeMs', 'int32', '1+'), f('errorCode', 'int16')];

export const LeaveGroupRequest = [
  f('groupId', 'string'),
  f('memberId', 'string', '0-2'),
  a(
    'members',
    [
      f('memberId', 'string'),
      f('groupInstanceId', 'string', '3+', { nullable: '3+' }),
      f('reason', 'string', '5+', { nullable: '5+' }),
    ],
    '3+',
  ),
];
export const LeaveGroupResponse = [
  f('throttleTimeMs', 'int32', '1+'),
  f('errorCode', 'int16'),
  a(
    'members',
    [f('memberId', 'string'), f('groupInstanceId', 'string', '3+', { nullable: '3+' }), f('errorCode', 'int16')],
    '3+',
  ),
];

export const OffsetCommitRequest = [
  f('groupId', 'string'),
  f('generationId', 'int32', '1+', { default: -1 }),
  f('memberId', 'string', '1+'),
  f('groupInstanceId', 'string', '7+', { nullable: '7+' }),
  f('retentionTimeMs', 'int64', '2-4', { default: -1 }),
  a('topics', [
    f('name', 'string'),
    a('partitions', [
      f('partitionIndex', 'int32'),
      f('committedOffset', 'int64'),
      f('committedLeaderEpoch', 'int32', '6+', { default: -1 }),
      f('commitTimestamp', 'int64', '1', { default: -1 }),
      f('committedMetadata', 'string', '0+', { nullable: '0+' }),
    ]),
  ]),
];
export const OffsetCommitResponse = [
  f('throttleTimeMs', 'int32', '3+'),
  a('topics', [f('name', 'string'), a('partitions', [f('partitionIndex', 'int32'), f('errorCode', 'int16')])]),
];

const offsetFetchPartition = [
  f('partitionIndex', 'int32'),
  f('committedOffset', 'int64'),
  f('committedLeaderEpoch', 'int32', '5+', { default: -1 }),
  f('metadata', 'string', '0+', { nullable: '0+' }),
  f('errorCode', 'int16'),
];
export const OffsetFetchRequest = [
  f('groupId', 'string', '0-7'),
  a('topics', [f('name', 'string'), a('partitionIndexes', 'int32')], '0-7', { nullable: '2-7' }),
  a(
    'groups',
    [f('groupId', 'string'), a('topics', [f('name', 'string'), a('partitionIndexes', 'int32')], '8+', { nullable: '8+' })],
    '8+',
  ),
  f('requireStable', 'bool', '7+'),
];
export const OffsetFetchResponse = [
  f('throttleTimeMs', 'int32', '3+'),
  a('topics', [f('name', 'string'), a('partitions', offsetFetchPartition)], '0-7'),
  f('errorCode', 'int16', '2-7'),
  a(
    'groups',
    [f('groupId', 'string'), a('topics', [f('name', 'string'), a('partitions', offsetFetchPartition)]), f('errorCode', 'int16')],
    '8+',
  ),
];

export const DescribeGroupsRequest = [a('groups', 'string'), f('includeAuthorizedOperations', 'bool', '3+')];
export const DescribeGroupsResponse = [
  f('throttleTimeMs', 'int32', '1+'),
  a('groups', [
    f('errorCode', 'int16'),
    f('groupId', 'string'),
    f('groupState', 'string'),
    f('protocolType', 'string'),
    f('protocolData', 'string'),
    a('members', [
      f('memberId', 'string'),
      f('groupInstanceId', 'string', '4+', { nullable: '4+' }),
      f('clientId', 'string'),
      f('clientHost', 'string'),
      f('memberMetadata', 'bytes', '0+', { default: Buffer.alloc(0) }),
      f('memberAssignment', 'bytes', '0+', { default: Buffer.alloc(0) }),
    ]),
    f('authorizedOperations', 'int32', '3+', { default: -2147483648 }),
  ]),
];

export const ListGroupsRequest = [a('statesFilter', 'string', '4+')];
export const ListGroupsResponse = [
  f('throttleTimeMs', 'int32', '1+'),
  f('errorCode', 'int16'),
  a('groups', [f('groupId', 'string'), f('protocolType', 'string'), f('groupState', 'string', '4+')]),
];

export const DeleteGroupsRequest = [a('groupsNames', 'string')];
export const DeleteGroupsResponse = [
  f('throttleTimeMs', 'int32'),
  a('results', [f('groupId', 'string'), f('errorCode', 'int16')]),
];
