/** The Kafka protocol server: connections, the API dispatch table and the shared broker state. */
import { createServer, type Server } from 'node:net';
import {
  type Action,
  type BatchHeader,
  type Counter,
  type Gauge,
  type HookBus,
  isPromise,
  iterateBatchHeaders,
  type LogStore,
  type Logger,
  type MaybePromise,
  MetricNames,
  type PluginContext,
  type Router,
  type TopicPartition,
} from '@robustmq/sdk';
import { Bridge } from './bridge.js';
import { Connection, type HandlerResult } from './connection.js';
import { GroupCoordinator } from './groups/coordinator.js';
import { OffsetStore } from './groups/offsets.js';
import { handleCreatePartitions, handleCreateTopics, handleDeleteTopics, handleDescribeConfigs } from './handlers/admin.js';
import { handleAlterConfigs, handleIncrementalAlterConfigs } from './handlers/alter-configs.js';
import { handleFetch } from './handlers/fetch.js';
import {
  handleDeleteGroups,
  handleDescribeGroups,
  handleFindCoordinator,
  handleHeartbeat,
  handleJoinGroup,
  handleLeaveGroup,
  handleListGroups,
  handleOffsetCommit,
  handleOffsetFetch,
  handleSyncGroup,
} from './handlers/groups.js';
import { handleListOffsets } from './handlers/list-offsets.js';
import { handleMetadata } from './handlers/metadata.js';
import { handleProduce } from './handlers/produce.js';
import { handleSaslAuthenticate, handleSaslHandshake } from './handlers/sasl.js';
import type { KafkaOptions } from './options.js';
import { ProducerStates } from './producers.js';
import { ApiKey } from './protocol/api-keys.js';
import { API_SPECS } from './protocol/apis.js';
import { ErrorCode } from './protocol/errors.js';
import type { RequestHeader } from './protocol/frame.js';
import { TopicService } from './topics.js';
import { AppendWaiters } from './waiters.js';

// biome-ignore lint/suspicious/noExplicitAny: request bodies are decoded generically from the layouts
type Handler = (server: KafkaServer, conn: Connection, req: any, version: number) => HandlerResult;

const HANDLERS: Record<number, Handler> = {
  [ApiKey.ApiVersions]: (server) => server.apiVersionsBody(0),
  [ApiKey.Metadata]: handleMetadata,
  [ApiKey.Produce]: handleProduce,
  [ApiKey.Fetch]: handleFetch,
  [ApiKey.ListOffsets]: handleListOffsets,
  [ApiKey.CreateTopics]: handleCreateTopics,
  [ApiKey.DeleteTopics]: handleDeleteTopics,
  [ApiKey.CreatePartitions]: handleCreatePartitions,
  [ApiKey.DescribeConfigs]: handleDescribeConfigs,
  [ApiKey.AlterConfigs]: handleAlterConfigs,
  [ApiKey.IncrementalAlterConfigs]: handleIncrementalAlterConfigs,
  [ApiKey.InitProducerId]: handleInitProducerId,
  [ApiKey.FindCoordinator]: handleFindCoordinator,
  [ApiKey.JoinGroup]: handleJoinGroup,
  [ApiKey.SyncGroup]: handleSyncGroup,
  [ApiKey.Heartbeat]: handleHeartbeat,
  [ApiKey.LeaveGroup]: handleLeaveGroup,
  [ApiKey.OffsetCommit]: handleOffsetCommit,
  [ApiKey.OffsetFetch]: handleOffsetFetch,
  [ApiKey.DescribeGroups]: handleDescribeGroups,
  [ApiKey.ListGroups]: handleListGroups,
  [ApiKey.DeleteGroups]: handleDeleteGroups,
  [ApiKey.SaslHandshake]: handleSaslHandshake,
  [ApiKey.SaslAuthenticate]: handleSaslAuthenticate,
};

async function handleInitProducerId(
  server: KafkaServer,
  _conn: Connection,
  req: { transactionalId: string | null; producerId: number; producerEpoch: number },
) {
  if (req.transactionalId !== null) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
  }
  if (req.producerId < 0 !== req.producerEpoch < 0 && !(req.producerId === 0 && req.producerEpoch === 0)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, producerId: -1, producerEpoch: -1 };
  }
  return { throttleTimeMs: 0, errorCode: 0, ...(await server.producers.init()) };
}

interface ServerMetrics {
  connections: Gauge;
  messagesIn: Counter;
  messagesOut: Counter;
  bytesIn: Counter;
  bytesOut: Counter;
}

export class KafkaServer {
  readonly options: KafkaOptions;
  readonly logger: Logger;
  readonly hooks: HookBus;
  readonly router: Router;
  readonly store: LogStore;
  readonly topics: TopicService;
  readonly groups: GroupCoordinator;
  readonly producers: ProducerStates;
  readonly waiters = new AppendWaiters();
  readonly bridge: Bridge;
  readonly metrics: ServerMetrics;
  private readonly connections = new Set<Connection>();
  private server?: Server;
  private boundPort = 0;
  stopping = false;

  constructor(ctx: PluginContext<KafkaOptions>) {
    this.options = ctx.options;
    this.logger = ctx.logger;
    this.hooks = ctx.hooks;
    this.router = ctx.router;
    this.store = ctx.logStore();
    const meta = ctx.metaStore();
    this.topics = new TopicService(this.store, {
      autoCreate: this.options.autoCreateTopics,
      partitions: this.options.defaultPartitions,
    });
    this.groups = new GroupCoordinator(new OffsetStore(meta), this.logger, this.options.groupInitialRebalanceDelayMs);
    this.producers = new ProducerStates(meta, this.store, this.logger, {
      snapshotMs: this.options.producerStateSnapshotMs,
      expirationMs: this.options.producerIdExpirationMs,
    });
    this.bridge = new Bridge(this, this.options.bridge);
    const m = ctx.metrics;
    this.metrics = {
      connections: m.gauge(MetricNames.connections, 'Open client connections', ['protocol']),
      messagesIn: m.counter(MetricNames.messagesIn, 'Messages received from clients', ['protocol']),
      messagesOut: m.counter(MetricNames.messagesOut, 'Messages sent to clients', ['protocol']),
      bytesIn: m.counter(MetricNames.bytesIn, 'Bytes received from clients', ['protocol']),
      bytesOut: m.counter(MetricNames.bytesOut, 'Bytes sent to clients', ['protocol']),
    };
  }

  /** Opens the listener; returns the bound port. */
  async listen(
    host: string,
    port: number,
    listen: (server: Server, port: number, host: string, field: string) => Promise<number>,
  ): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    this.boundPort = await listen(server, port, host, 'port');
    this.bridge.start();
    return this.boundPort;
  }

  private accept(socket: import('node:net').Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const conn = new Connection(this, socket);
    this.connections.add(conn);
    this.metrics.connections.inc({ protocol: 'kafka' });
    this.logger.debug({ conn: conn.id, remote: conn.remoteAddress }, 'kafka: connection opened');
  }

  connectionClosed(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    this.metrics.connections.dec({ protocol: 'kafka' });
    this.logger.debug({ conn: conn.id, remote: conn.remoteAddress }, 'kafka: connection closed');
    if (conn.announced) {
      this.hooks.emit('clientDisconnected', {
        protocol: 'kafka',
        clientId: conn.clientId,
        principal: conn.principal,
        remoteAddress: conn.socket.remoteAddress,
        reason: this.stopping ? 'shutdown' : 'normal',
      });
    }
  }

  /** Emits clientConnected once per connection: at its first request, or when SASL succeeds. */
  announce(conn: Connection): void {
    conn.announced = true;
    this.hooks.emit('clientConnected', {
      protocol: 'kafka',
      clientId: conn.clientId,
      principal: conn.principal,
      remoteAddress: conn.socket.remoteAddress,
    });
  }

  /** Host and port clients should connect to. */
  advertised(): { host: string; port: number } {
    const o = this.options;
    const bind = o.host;
    const host = o.advertisedHost ?? (bind && bind !== '0.0.0.0' && bind !== '::' ? bind : '127.0.0.1');
    return { host, port: o.advertisedPort ?? this.boundPort };
  }

  /** The ApiVersions body: exactly the supported table. */
  apiVersionsBody(errorCode: number): Record<string, unknown> {
    return {
      errorCode,
      apiKeys: API_SPECS.map((s) => ({ apiKey: s.key, minVersion: s.minVersion, maxVersion: s.maxVersion })),
      throttleTimeMs: 0,
    };
  }

  dispatch(conn: Connection, header: RequestHeader, body: Record<string, unknown>): HandlerResult {
    const handler = HANDLERS[header.apiKey];
    if (!handler) throw new Error(`no handler for api key ${header.apiKey}`);
    return handler(this, conn, body, header.apiVersion);
  }

  /** Authorizes an action; no hook or no opinion allows. */
  authorize(conn: Connection, action: Action, resource: string): MaybePromise<boolean> {
    if (!this.hooks.has('authorize')) return true;
    const r = this.hooks.authorize({ protocol: 'kafka', clientId: conn.clientId, principal: conn.principal, action, resource });
    return isPromise(r) ? r.then((v) => v !== 'deny') : r !== 'deny';
  }

  /** After a produced batch is stored: wake fetchers, count, and hand it to the MQTT bridge. */
  afterAppend(tp: TopicPartition, batch: Buffer, header: BatchHeader, conn: Connection): void {
    this.waiters.notify(tp.topic, tp.partition);
    this.metrics.messagesIn.inc({ protocol: 'kafka' }, header.recordCount);
    if (this.bridge.mapsKafkaTopic(tp.topic))
      this.bridge.publishBatch(tp.topic, tp.partition, batch, header, conn.clientId, conn.principal);
  }

  /** Counts the records sent in a fetch response. */
  countOut(responses: Array<{ partitions: Array<{ records: Buffer }> }>): void {
    let n = 0;
    for (const t of responses)
      for (const p of t.partitions) for (const { header } of iterateBatchHeaders(p.records)) n += header.recordCount;
    if (n > 0) this.metrics.messagesOut.inc({ protocol: 'kafka' }, n);
  }

  /** A topic was deleted: drop its committed offsets and its producer state. */
  topicDeleted(name: string): void {
    void this.producers.dropTopic(name);
    this.groups.offsets
      .deleteTopic(name)
      .catch((err) => this.logger.warn({ topic: name, err: (err as Error).message }, 'kafka: cannot drop offsets'));
  }

  /** Stops accepting, wakes long polls, closes connections and group timers. */
  async stop(signal?: AbortSignal): Promise<void> {
    this.stopping = true;
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.waiters.wakeAll();
    await this.bridge.stop();
    this.groups.close();
    // Give in-flight responses a moment, then close every connection.
    await new Promise((r) => setTimeout(r, signal?.aborted ? 0 : 20));
    for (const c of this.connections) c.close();
    await closed;
    // Last producer state snapshot, so a restart replays no log.
    await this.producers.close();
  }
}
