/** FindCoordinator and the group APIs, delegated to the coordinator. */
import type { Connection } from '../connection.js';
import type { CommittedOffset } from '../groups/offsets.js';
import { ErrorCode } from '../protocol/errors.js';
import type { KafkaServer } from '../server.js';

export function handleFindCoordinator(
  server: KafkaServer,
  _conn: Connection,
  req: { key: string; keyType: number; coordinatorKeys: string[] },
  version: number,
) {
  const { host, port } = server.advertised();
  const nodeId = server.options.nodeId;
  // Transactions (key type 1) are not supported: a non-retriable error so clients fail at once.
  const errorCode = req.keyType === 0 ? 0 : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  const ok = errorCode === 0;
  if (version >= 4) {
    return {
      throttleTimeMs: 0,
      coordinators: req.coordinatorKeys.map((key) => ({
        key,
        nodeId: ok ? nodeId : -1,
        host: ok ? host : '',
        port: ok ? port : -1,
        errorCode,
        errorMessage: ok ? null : 'transactions are not supported',
      })),
    };
  }
  return {
    throttleTimeMs: 0,
    errorCode,
    errorMessage: ok ? null : 'transactions are not supported',
    nodeId: ok ? nodeId : -1,
    host: ok ? host : '',
    port: ok ? port : -1,
  };
}

interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: Array<{ name: string; metadata: Buffer }>;
}

export async function handleJoinGroup(server: KafkaServer, conn: Connection, req: JoinGroupRequest, version: number) {
  const fail = (errorCode: number) => ({
    throttleTimeMs: 0,
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: version >= 7 ? null : '',
    leader: '',
    memberId: req.memberId,
    members: [],
  });
  if (!req.groupId) return fail(ErrorCode.INVALID_GROUP_ID);
  const o = server.options;
  if (req.sessionTimeoutMs < o.groupMinSessionTimeoutMs || req.sessionTimeoutMs > o.groupMaxSessionTimeoutMs)
    return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
  if (!(await server.authorize(conn, 'consume', `group:${req.groupId}`))) return fail(ErrorCode.GROUP_AUTHORIZATION_FAILED);
  const group = await server.groups.group(req.groupId);
  const host = conn.socket.remoteAddress ?? '';
  const r = await group.join(req, conn.clientId, `/${host}`, version >= 4);
  return {
    throttleTimeMs: 0,
    ...r,
    protocolName: r.protocolName ?? (version >= 7 ? null : ''),
  };
}

interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export async function handleSyncGroup(server: KafkaServer, _conn: Connection, req: SyncGroupRequest) {
  const group = server.groups.live(req.groupId);
  if (!group)
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.UNKNOWN_MEMBER_ID,
      protocolType: null,
      protocolName: null,
      assignment: Buffer.alloc(0),
    };
  return { throttleTimeMs: 0, ...(await group.sync(req.memberId, req.generationId, req.assignments)) };
}

export function handleHeartbeat(
  server: KafkaServer,
  _conn: Connection,
  req: { groupId: string; generationId: number; memberId: string },
) {
  const group = server.groups.live(req.groupId);
  return { throttleTimeMs: 0, errorCode: group ? group.heartbeat(req.memberId, req.generationId) : ErrorCode.UNKNOWN_MEMBER_ID };
}

interface LeaveGroupRequest {
  groupId: string;
  memberId: string;
  members: Array<{ memberId: string; groupInstanceId: string | null }>;
}

export function handleLeaveGroup(server: KafkaServer, _conn: Connection, req: LeaveGroupRequest, version: number) {
  const group = server.groups.live(req.groupId);
  const leaving = version >= 3 ? req.members : [{ memberId: req.memberId, groupInstanceId: null }];
  const members = leaving.map((m) => ({
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
    errorCode: group ? group.leave(m.memberId, m.groupInstanceId) : ErrorCode.UNKNOWN_MEMBER_ID,
  }));
  const errorCode = version >= 3 ? 0 : members[0].errorCode;
  return { throttleTimeMs: 0, errorCode, members };
}

interface OffsetCommitRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  topics: Array<{
    name: string;
    partitions: Array<{
      partitionIndex: number;
      committedOffset: number;
      committedLeaderEpoch: number;
      committedMetadata: string | null;
    }>;
  }>;
}

export async function handleOffsetCommit(server: KafkaServer, conn: Connection, req: OffsetCommitRequest) {
  const respond = (code: (topic: string) => number) => ({
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code(t.name) })),
    })),
  });
  if (!req.groupId) return respond(() => ErrorCode.INVALID_GROUP_ID);
  if (!(await server.authorize(conn, 'consume', `group:${req.groupId}`)))
    return respond(() => ErrorCode.GROUP_AUTHORIZATION_FAILED);
  const group = server.groups.live(req.groupId);
  const check = group ? group.canCommit(req.memberId, req.generationId) : req.generationId < 0 ? 0 : ErrorCode.UNKNOWN_MEMBER_ID;
  if (check) return respond(() => check);
  const denied = new Set<string>();
  for (const t of req.topics) if (!(await server.authorize(conn, 'consume', t.name))) denied.add(t.name);
  const now = Date.now();
  const entries = req.topics
    .filter((t) => !denied.has(t.name))
    .flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        value: {
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata: p.committedMetadata,
          commitTimestamp: now,
        } as CommittedOffset,
      })),
    );
  try {
    if (entries.length > 0) await server.groups.offsets.commit(req.groupId, entries);
  } catch (err) {
    server.logger.warn({ group: req.groupId, err: (err as Error).message }, 'kafka: offset commit failed');
    return respond(() => ErrorCode.COORDINATOR_NOT_AVAILABLE);
  }
  if (!group) await server.groups.group(req.groupId);
  return respond((t) => (denied.has(t) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : 0));
}

interface OffsetFetchRequest {
  groupId: string;
  topics: Array<{ name: string; partitionIndexes: number[] }> | null;
  groups: Array<{ groupId: string; topics: Array<{ name: string; partitionIndexes: number[] }> | null }>;
}

async function fetchGroupOffsets(server: KafkaServer, conn: Connection, groupId: string, topics: OffsetFetchRequest['topics']) {
  if (!(await server.authorize(conn, 'consume', `group:${groupId}`)))
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  const all = await server.groups.offsets.all(groupId);
  const wanted =
    topics ?? [...all.entries()].map(([name, parts]) => ({ name, partitionIndexes: [...parts.keys()].sort((a, b) => a - b) }));
  return {
    errorCode: 0,
    topics: wanted.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((p) => {
        const c = all.get(t.name)?.get(p);
        return {
          partitionIndex: p,
          committedOffset: c?.offset ?? -1,
          committedLeaderEpoch: c?.leaderEpoch ?? -1,
          metadata: c?.metadata ?? '',
          errorCode: 0,
        };
      }),
    })),
  };
}

export async function handleOffsetFetch(server: KafkaServer, conn: Connection, req: OffsetFetchRequest, version: number) {
  if (version >= 8) {
    const groups = [];
    for (const g of req.groups)
      groups.push({ groupId: g.groupId, ...(await fetchGroupOffsets(server, conn, g.groupId, g.topics)) });
    return { throttleTimeMs: 0, groups };
  }
  const r = await fetchGroupOffsets(server, conn, req.groupId, req.topics);
  return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
}

export async function handleDescribeGroups(server: KafkaServer, conn: Connection, req: { groups: string[] }) {
  const groups = [];
  for (const id of req.groups) {
    if (!(await server.authorize(conn, 'admin', `group:${id}`))) {
      groups.push({
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
        groupId: id,
        groupState: '',
        protocolType: '',
        protocolData: '',
        members: [],
      });
      continue;
    }
    const g = server.groups.live(id);
    if (!g) {
      const known = (await server.groups.list()).find((x) => x.groupId === id);
      groups.push({
        errorCode: 0,
        groupId: id,
        groupState: known ? 'Empty' : 'Dead',
        protocolType: known?.protocolType ?? '',
        protocolData: '',
        members: [],
      });
      continue;
    }
    const stable = g.state === 'Stable';
    groups.push({
      errorCode: 0,
      groupId: id,
      groupState: g.state,
      protocolType: g.protocolType ?? '',
      protocolData: stable || g.state === 'CompletingRebalance' ? (g.protocolName ?? '') : '',
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        // Like Kafka, metadata and assignment only while Stable (clients parse them as a pair).
        memberMetadata: stable
          ? (m.protocols.find((p) => p.name === g.protocolName)?.metadata ?? Buffer.alloc(0))
          : Buffer.alloc(0),
        memberAssignment: stable ? m.assignment : Buffer.alloc(0),
      })),
    });
  }
  return { throttleTimeMs: 0, groups };
}

export async function handleListGroups(server: KafkaServer, _conn: Connection, req: { statesFilter: string[] }) {
  const filter = req.statesFilter.map((s) => s.toLowerCase());
  const groups = (await server.groups.list())
    .filter((g) => filter.length === 0 || filter.includes(g.state.toLowerCase()))
    .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state }));
  return { throttleTimeMs: 0, errorCode: 0, groups };
}

export async function handleDeleteGroups(server: KafkaServer, conn: Connection, req: { groupsNames: string[] }) {
  const results = [];
  const known = new Set((await server.groups.list()).map((g) => g.groupId));
  for (const groupId of req.groupsNames) {
    if (!(await server.authorize(conn, 'admin', `group:${groupId}`))) {
      results.push({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED });
      continue;
    }
    const live = server.groups.live(groupId);
    if (live && live.members.size > 0) results.push({ groupId, errorCode: ErrorCode.NON_EMPTY_GROUP });
    else if (!live && !known.has(groupId)) results.push({ groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND });
    else {
      await server.groups.delete(groupId);
      results.push({ groupId, errorCode: 0 });
    }
  }
  return { throttleTimeMs: 0, results };
}
