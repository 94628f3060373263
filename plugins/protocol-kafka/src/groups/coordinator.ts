/** The group coordinator: every group lives on this broker; offsets and generations in the MetaStore. */
import type { Logger } from '@robustmq/sdk';
import { Group, type GroupState } from './group.js';
import type { OffsetStore } from './offsets.js';

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();

  constructor(
    readonly offsets: OffsetStore,
    private readonly logger: Logger,
    private readonly initialRebalanceDelayMs: number,
  ) {}

  /** The live group, created (and its generation restored) on first use. */
  async group(id: string): Promise<Group> {
    let g = this.groups.get(id);
    if (g && g.state !== 'Dead') return g;
    const stored = await this.offsets.loadGroup(id).catch(() => undefined);
    g = this.groups.get(id);
    if (g && g.state !== 'Dead') return g;
    g = new Group(id, {
      initialRebalanceDelayMs: this.initialRebalanceDelayMs,
      onGeneration: (grp) => {
        this.offsets
          .saveGroup(grp.id, { protocolType: grp.protocolType ?? '', generationId: grp.generationId })
          .catch((err) => this.logger.warn({ group: grp.id, err: (err as Error).message }, 'kafka: cannot persist group'));
      },
      log: (msg, fields) => this.logger.debug(fields ?? {}, `kafka group: ${msg}`),
    });
    if (stored) {
      g.generationId = stored.generationId;
      g.protocolType = stored.protocolType || null;
    }
    this.groups.set(id, g);
    return g;
  }

  /** The live group if it exists in memory. */
  live(id: string): Group | undefined {
    const g = this.groups.get(id);
    return g && g.state !== 'Dead' ? g : undefined;
  }

  /** Every known group (live or only stored) with its state and protocol type. */
  async list(): Promise<Array<{ groupId: string; protocolType: string; state: GroupState }>> {
    const out = new Map<string, { groupId: string; protocolType: string; state: GroupState }>();
    for (const id of await this.offsets.groups()) {
      const stored = await this.offsets.loadGroup(id).catch(() => undefined);
      out.set(id, { groupId: id, protocolType: stored?.protocolType ?? 'consumer', state: 'Empty' });
    }
    for (const g of this.groups.values()) {
      if (g.state === 'Dead') continue;
      out.set(g.id, { groupId: g.id, protocolType: g.protocolType ?? '', state: g.state });
    }
    return [...out.values()].sort((x, y) => x.groupId.localeCompare(y.groupId));
  }

  /** Deletes an empty group: its metadata and offsets. */
  async delete(id: string): Promise<void> {
    const g = this.groups.get(id);
    if (g) {
      g.close();
      this.groups.delete(id);
    }
    await this.offsets.deleteGroup(id);
  }

  close(): void {
    for (const g of this.groups.values()) g.close();
    this.groups.clear();
  }
}
