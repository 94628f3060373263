/**
 * The supported API table: key, version range and first flexible version of every request this
 * broker answers, with its layouts. ApiVersions advertises exactly this table.
 */
import * as admin from '../messages/admin.js';
import * as core from '../messages/core.js';
import * as data from '../messages/data.js';
import * as group from '../messages/group.js';
import * as sasl from '../messages/sasl.js';
import { ApiKey } from './api-keys.js';
import type { Field } from './schema.js';

export interface ApiSpec {
  key: number;
  name: string;
  minVersion: number;
  maxVersion: number;
  /** First flexible version (tagged fields, compact encodings); Infinity when none. */
  flexibleFrom: number;
  request: readonly Field[];
  response: readonly Field[];
}

const spec = (
  name: keyof typeof ApiKey,
  minVersion: number,
  maxVersion: number,
  flexibleFrom: number,
  request: readonly Field[],
  response: readonly Field[],
): ApiSpec => ({ key: ApiKey[name], name, minVersion, maxVersion, flexibleFrom, request, response });

const NONE = Number.POSITIVE_INFINITY;

export const API_SPECS: readonly ApiSpec[] = [
  spec('Produce', 3, 9, 9, data.ProduceRequest, data.ProduceResponse),
  spec('Fetch', 4, 12, 12, data.FetchRequest, data.FetchResponse),
  spec('ListOffsets', 1, 6, 6, data.ListOffsetsRequest, data.ListOffsetsResponse),
  spec('Metadata', 0, 9, 9, core.MetadataRequest, core.MetadataResponse),
  spec('OffsetCommit', 2, 8, 8, group.OffsetCommitRequest, group.OffsetCommitResponse),
  spec('OffsetFetch', 1, 8, 6, group.OffsetFetchRequest, group.OffsetFetchResponse),
  spec('FindCoordinator', 0, 4, 3, group.FindCoordinatorRequest, group.FindCoordinatorResponse),
  spec('JoinGroup', 0, 9, 6, group.JoinGroupRequest, group.JoinGroupResponse),
  spec('Heartbeat', 0, 4, 4, group.HeartbeatRequest, group.HeartbeatResponse),
  spec('LeaveGroup', 0, 5, 4, group.LeaveGroupRequest, group.LeaveGroupResponse),
  spec('SyncGroup', 0, 5, 4, group.SyncGroupRequest, group.SyncGroupResponse),
  spec('DescribeGroups', 0, 5, 5, group.DescribeGroupsRequest, group.DescribeGroupsResponse),
  spec('ListGroups', 0, 4, 3, group.ListGroupsRequest, group.ListGroupsResponse),
  spec('SaslHandshake', 1, 1, NONE, sasl.SaslHandshakeRequest, sasl.SaslHandshakeResponse),
  spec('ApiVersions', 0, 3, 3, core.ApiVersionsRequest, core.ApiVersionsResponse),
  spec('CreateTopics', 0, 7, 5, admin.CreateTopicsRequest, admin.CreateTopicsResponse),
  spec('DeleteTopics', 0, 6, 4, admin.DeleteTopicsRequest, admin.DeleteTopicsResponse),
  spec('InitProducerId', 0, 4, 2, data.InitProducerIdRequest, data.InitProducerIdResponse),
  spec('DescribeConfigs', 0, 4, 4, admin.DescribeConfigsRequest, admin.DescribeConfigsResponse),
  spec('AlterConfigs', 0, 2, 2, admin.AlterConfigsRequest, admin.AlterConfigsResponse),
  spec('SaslAuthenticate', 0, 2, 2, sasl.SaslAuthenticateRequest, sasl.SaslAuthenticateResponse),
  spec('CreatePartitions', 0, 3, 2, admin.CreatePartitionsRequest, admin.CreatePartitionsResponse),
  spec('DeleteGroups', 0, 2, 2, group.DeleteGroupsRequest, group.DeleteGroupsResponse),
  spec('IncrementalAlterConfigs', 0, 1, 1, admin.IncrementalAlterConfigsRequest, admin.AlterConfigsResponse),
];

export const API_BY_KEY: ReadonlyMap<number, ApiSpec> = new Map(API_SPECS.map((s) => [s.key, s]));
