/**
 * One consumer group and its rebalance state machine (Kafka's classic group protocol):
 * Empty → PreparingRebalance (members rejoin) → CompletingRebalance (leader assigns) → Stable.
 * Joins, leaves and session expiries move a group back to PreparingRebalance.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: Array<{ name: string; metadata: Buffer }>;
  assignment: Buffer;
  joinWaiter?: (r: JoinResult) => void;
  syncWaiter?: (r: SyncResult) => void;
  sessionTimer?: NodeJS.Timeout;
}

export interface JoinRequest {
  memberId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Array<{ name: string; metadata: Buffer }>;
}

export interface GroupHost {
  initialRebalanceDelayMs: number;
  /** Called whenever the generation changes (persist it). */
  onGeneration(group: Group): void;
  log(msg: string, fields?: Record<string, unknown>): void;
}

const EMPTY = Buffer.alloc(0);

export class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, not yet joined. */
  private readonly pending = new Set<string>();
  private rebalanceTimer?: NodeJS.Timeout;
  private initialDelayUntil = 0;

  constructor(
    readonly id: string,
    private readonly host: GroupHost,
  ) {}

  private fail(memberId: string, errorCode: number): JoinResult {
    return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] };
  }

  /** JoinGroup. `requireKnownMemberId` (v4+) answers a first join with MEMBER_ID_REQUIRED. */
  join(req: JoinRequest, clientId: string, clientHost: string, requireKnownMemberId: boolean): JoinResult | Promise<JoinResult> {
    if (this.state === 'Dead') return this.fail(req.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (this.members.size > 0 && this.protocolType !== null && req.protocolType !== this.protocolType)
      return this.fail(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (req.protocols.length === 0) return this.fail(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (this.members.size > 0 && !this.candidateProtocols(req.protocols.map((p) => p.name)).length)
      return this.fail(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);

    let memberId = req.memberId;
    if (memberId === '') {
      memberId = `${clientId || 'member'}-${randomUUID()}`;
      if (requireKnownMemberId) {
        this.pending.add(memberId);
        // A client that never comes back with its id must not hold it forever.
        const id = memberId;
        setTimeout(() => this.pending.delete(id), Math.max(req.sessionTimeoutMs, req.rebalanceTimeoutMs)).unref?.();
        return this.fail(memberId, ErrorCode.MEMBER_ID_REQUIRED);
      }
    } else if (!this.members.has(memberId) && !this.pending.has(memberId)) {
      return this.fail(memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    }
    this.pending.delete(memberId);

    let member = this.members.get(memberId);
    if (!member) {
      member = {
        memberId,
        groupInstanceId: req.groupInstanceId,
        clientId,
        clientHost,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
        protocols: req.protocols,
        assignment: EMPTY,
      };
      this.members.set(memberId, member);
      this.host.log('member joined', { group: this.id, memberId });
    } else {
      member.protocols = req.protocols;
      member.sessionTimeoutMs = req.sessionTimeoutMs;
      member.rebalanceTimeoutMs = req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs;
      // A repeated join replaces the earlier one (the client gave up waiting on it).
      member.joinWaiter?.(this.fail(memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    }
    if (this.protocolType === null || this.members.size === 1) this.protocolType = req.protocolType;
    const m = member;
    this.stopSessionTimer(m);
    const result = new Promise<JoinResult>((resolve) => {
      m.joinWaiter = resolve;
    });
    if (this.state === 'PreparingRebalance') this.maybeCompleteJoin();
    else this.prepareRebalance();
    return result;
  }

  private candidateProtocols(extra?: string[]): string[] {
    let names: string[] | undefined = extra;
    for (const m of this.members.values()) {
      const mine = m.protocols.map((p) => p.name);
      names = names ? names.filter((n) => mine.includes(n)) : mine;
    }
    return names ?? [];
  }

  /** Moves to PreparingRebalance: members must rejoin within their rebalance timeout. */
  prepareRebalance(): void {
    if (this.state === 'CompletingRebalance') {
      for (const m of this.members.values()) {
        m.assignment = EMPTY;
        this.resolveSync(m, {
          errorCode: ErrorCode.REBALANCE_IN_PROGRESS,
          protocolType: null,
          protocolName: null,
          assignment: EMPTY,
        });
      }
    }
    const wasEmpty = this.state === 'Empty';
    this.state = 'PreparingRebalance';
    clearTimeout(this.rebalanceTimer);
    let delay = 0;
    for (const m of this.members.values()) delay = Math.max(delay, m.rebalanceTimeoutMs);
    if (wasEmpty && this.host.initialRebalanceDelayMs > 0) {
      delay = Math.min(delay, this.host.initialRebalanceDelayMs);
      this.initialDelayUntil = Date.now() + delay;
    }
    this.rebalanceTimer = setTimeout(() => this.completeJoin(), delay);
    this.rebalanceTimer.unref?.();
    this.maybeCompleteJoin();
  }

  private maybeCompleteJoin(): void {
    if (this.state !== 'PreparingRebalance') return;
    if (Date.now() < this.initialDelayUntil) return;
    for (const m of this.members.values()) if (!m.joinWaiter) return;
    this.completeJoin();
  }

  /** Ends the join phase: drops members that did not rejoin, picks the protocol, answers every join. */
  completeJoin(): void {
    if (this.state !== 'PreparingRebalance') return;
    clearTimeout(this.rebalanceTimer);
    this.initialDelayUntil = 0;
    for (const m of [...this.members.values()]) {
      if (!m.joinWaiter) this.removeMember(m, 'did not rejoin in time');
    }
    this.generationId++;
    if (this.members.size === 0) {
      this.state = 'Empty';
      this.protocolName = null;
      this.leaderId = null;
      this.host.onGeneration(this);
      return;
    }
    this.protocolName = this.selectProtocol();
    if (!this.leaderId || !this.members.has(this.leaderId)) this.leaderId = this.members.keys().next().value as string;
    this.state = 'CompletingRebalance';
    this.host.log('rebalance complete', { group: this.id, generation: this.generationId, members: this.members.size });
    const all = [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? EMPTY,
    }));
    for (const m of this.members.values()) {
      const waiter = m.joinWaiter!;
      m.joinWaiter = undefined;
      this.startSessionTimer(m);
      waiter({
        errorCode: 0,
        generationId: this.generationId,
        protocolType: this.protocolType,
        protocolName: this.protocolName,
        leader: this.leaderId,
        memberId: m.memberId,
        members: m.memberId === this.leaderId ? all : [],
      });
    }
    this.host.onGeneration(this);
  }

  /** Each member votes for its most preferred protocol that every member supports. */
  private selectProtocol(): string {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))?.name;
      if (choice) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = candidates[0];
    for (const [name, n] of votes) if (n > (votes.get(best) ?? 0)) best = name;
    return best;
  }

  private check(memberId: string, generationId: number): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (!this.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    return 0;
  }

  sync(
    memberId: string,
    generationId: number,
    assignments: Array<{ memberId: string; assignment: Buffer }>,
  ): SyncResult | Promise<SyncResult> {
    const err = this.check(memberId, generationId);
    const failure = (errorCode: number): SyncResult => ({ errorCode, protocolType: null, protocolName: null, assignment: EMPTY });
    if (err) return failure(err);
    if (this.state === 'PreparingRebalance') return failure(ErrorCode.REBALANCE_IN_PROGRESS);
    const member = this.members.get(memberId)!;
    this.startSessionTimer(member);
    const ok = (m: Member): SyncResult => ({
      errorCode: 0,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      assignment: m.assignment,
    });
    if (this.state === 'Stable') return ok(member);
    const result = new Promise<SyncResult>((resolve) => {
      member.syncWaiter = resolve;
    });
    if (memberId === this.leaderId) {
      const given = new Map(assignments.map((a) => [a.memberId, a.assignment]));
      for (const m of this.members.values()) m.assignment = given.get(m.memberId) ?? EMPTY;
      this.state = 'Stable';
      for (const m of this.members.values()) this.resolveSync(m, ok(m));
    }
    return result;
  }

  private resolveSync(m: Member, r: SyncResult): void {
    const waiter = m.syncWaiter;
    m.syncWaiter = undefined;
    waiter?.(r);
  }

  heartbeat(memberId: string, generationId: number): number {
    const err = this.check(memberId, generationId);
    if (err) return err;
    this.startSessionTimer(this.members.get(memberId)!);
    return this.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : 0;
  }

  /** LeaveGroup for one member. */
  leave(memberId: string, groupInstanceId: string | null): number {
    let member = this.members.get(memberId);
    if (!member && groupInstanceId) member = [...this.members.values()].find((m) => m.groupInstanceId === groupInstanceId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMember(member, 'left the group');
    this.afterRemoval();
    return 0;
  }

  /** May a commit from this member and generation be accepted? 0 = yes. */
  canCommit(memberId: string, generationId: number): number {
    if (generationId < 0 && memberId === '') return this.members.size === 0 ? 0 : ErrorCode.UNKNOWN_MEMBER_ID;
    return this.check(memberId, generationId);
  }

  private removeMember(m: Member, why: string): void {
    this.stopSessionTimer(m);
    this.members.delete(m.memberId);
    m.joinWaiter?.(this.fail(m.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    m.joinWaiter = undefined;
    this.resolveSync(m, { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, protocolType: null, protocolName: null, assignment: EMPTY });
    if (this.leaderId === m.memberId) this.leaderId = null;
    this.host.log(`member ${why}`, { group: this.id, memberId: m.memberId });
  }

  private afterRemoval(): void {
    if (this.state === 'Stable' || this.state === 'CompletingRebalance') {
      if (this.members.size === 0) {
        this.state = 'PreparingRebalance';
        this.completeJoin();
      } else this.prepareRebalance();
    } else if (this.state === 'PreparingRebalance') {
      if (this.members.size === 0) this.completeJoin();
      else this.maybeCompleteJoin();
    }
  }

  private startSessionTimer(m: Member): void {
    this.stopSessionTimer(m);
    m.sessionTimer = setTimeout(() => {
      m.sessionTimer = undefined;
      if (this.members.get(m.memberId) !== m || m.joinWaiter) return;
      this.removeMember(m, `session timed out after ${m.sessionTimeoutMs} ms`);
      this.afterRemoval();
    }, m.sessionTimeoutMs);
    m.sessionTimer.unref?.();
  }

  private stopSessionTimer(m: Member): void {
    if (m.sessionTimer) clearTimeout(m.sessionTimer);
    m.sessionTimer = undefined;
  }

  /** Stops timers and fails waiters (shutdown or deletion). */
  close(): void {
    clearTimeout(this.rebalanceTimer);
    for (const m of this.members.values()) {
      this.stopSessionTimer(m);
      m.joinWaiter?.(this.fail(m.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
      m.joinWaiter = undefined;
      this.resolveSync(m, {
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        protocolType: null,
        protocolName: null,
        assignment: EMPTY,
      });
    }
    this.state = 'Dead';
  }
}
