/** Committed group offsets and group metadata in the MetaStore. */
import { getJson, type MetaStore, putJson } from '@robustmq/sdk';

/** One committed offset. */
export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

/** What survives a restart of a group besides its offsets. */
export interface StoredGroup {
  protocolType: string;
  generationId: number;
}

const enc = encodeURIComponent;
const offsetsPrefix = (group: string) => `kafka/offsets/${enc(group)}/`;
const offsetKey = (group: string, topic: string, partition: number) => `${offsetsPrefix(group)}${enc(topic)}/${partition}`;
const groupKey = (group: string) => `kafka/groups/${enc(group)}`;

export class OffsetStore {
  constructor(private readonly meta: MetaStore) {}

  async commit(group: string, entries: Array<{ topic: string; partition: number; value: CommittedOffset }>): Promise<void> {
    await this.meta.batch(
      entries.map((e) => ({ key: offsetKey(group, e.topic, e.partition), value: Buffer.from(JSON.stringify(e.value)) })),
    );
  }

  async get(group: string, topic: string, partition: number): Promise<CommittedOffset | undefined> {
    return getJson<CommittedOffset>(this.meta, offsetKey(group, topic, partition));
  }

  /** Every committed offset of a group: topic → partition → offset. */
  async all(group: string): Promise<Map<string, Map<number, CommittedOffset>>> {
    const out = new Map<string, Map<number, CommittedOffset>>();
    const prefix = offsetsPrefix(group);
    for (const { key, value } of await this.meta.scan(prefix)) {
      const [topicEnc, partition] = key.slice(prefix.length).split('/');
      const topic = decodeURIComponent(topicEnc);
      let m = out.get(topic);
      if (!m) {
        m = new Map();
        out.set(topic, m);
      }
      m.set(Number(partition), JSON.parse(value.toString('utf8')) as CommittedOffset);
    }
    return out;
  }

  /** Groups with stored metadata or offsets. */
  async groups(): Promise<string[]> {
    const names = new Set<string>();
    for (const { key } of await this.meta.scan('kafka/groups/')) names.add(decodeURIComponent(key.slice('kafka/groups/'.length)));
    for (const { key } of await this.meta.scan('kafka/offsets/'))
      names.add(decodeURIComponent(key.slice('kafka/offsets/'.length).split('/')[0]));
    return [...names].sort();
  }

  async saveGroup(group: string, value: StoredGroup): Promise<void> {
    await putJson(this.meta, groupKey(group), value);
  }

  async loadGroup(group: string): Promise<StoredGroup | undefined> {
    return getJson<StoredGroup>(this.meta, groupKey(group));
  }

  /** Removes a group's metadata and offsets. */
  async deleteGroup(group: string): Promise<void> {
    const keys = (await this.meta.scan(offsetsPrefix(group))).map((e) => e.key);
    await this.meta.batch([...keys, groupKey(group)].map((key) => ({ key, value: undefined })));
  }

  /** Removes the offsets of a deleted topic from every group. */
  async deleteTopic(topic: string): Promise<void> {
    // kafka/offsets/<group>/<topic>/<partition>: every part is URI-encoded, so split is exact.
    const keys = (await this.meta.scan('kafka/offsets/')).map((e) => e.key).filter((k) => k.split('/')[3] === enc(topic));
    if (keys.length > 0) await this.meta.batch(keys.map((key) => ({ key, value: undefined })));
  }
}
