import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetaEntry, MetaStore } from '../meta-store.js';
import { type StoreFactory, StoreUnderTest } from './harness.js';

const b = (s: string) => Buffer.from(s);

function asText(entries: MetaEntry[]): Array<[string, string]> {
  return entries.map((e) => [e.key, e.value.toString()]);
}

/**
 * Registers the MetaStore conformance suite (vitest) for a store implementation: get/put/delete,
 * prefix scans in key order, compare-and-set, atomic batches, binary values and — when the factory
 * can `reopen` — durability across close + reopen.
 */
export function describeMetaStore(name: string, factory: StoreFactory<MetaStore>): void {
  describe(`MetaStore conformance: ${name}`, () => {
    let subject: StoreUnderTest<MetaStore>;
    let store: MetaStore;

    beforeEach(async () => {
      subject = await StoreUnderTest.create(factory);
      store = subject.store;
    });

    afterEach(async () => {
      await subject.dispose();
    });

    it('get, put, overwrite and delete', async () => {
      expect(await store.get('mqtt/session/c1')).toBeUndefined();
      await store.put('mqtt/session/c1', b('one'));
      expect(await store.get('mqtt/session/c1')).toEqual(b('one'));
      await store.put('mqtt/session/c1', b('two'));
      expect(await store.get('mqtt/session/c1')).toEqual(b('two'));
      expect(await store.delete('mqtt/session/c1')).toBe(true);
      expect(await store.delete('mqtt/session/c1')).toBe(false);
      expect(await store.get('mqtt/session/c1')).toBeUndefined();
      expect(await store.delete('never/there')).toBe(false);
    });

    it('keeps keys with MQTT and Kafka punctuation apart', async () => {
      const keys = ['s/a+b', 's/a#b', 's/a b', 's/a:b', 's/a.b', 's/a_b', 's/a%2Fb', 's/a/b', 's/é', 's/$sys'];
      for (const key of keys) await store.put(key, b(key));
      for (const key of keys) expect((await store.get(key))?.toString()).toBe(key);
      expect((await store.scan('s/')).map((e) => e.key).sort()).toEqual([...keys].sort());
    });

    it('stores values by value: binary bytes, empty values, and no aliasing of the caller buffer', async () => {
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await store.put('bin/all', all);
      await store.put('bin/empty', Buffer.alloc(0));
      const mutable = b('original');
      await store.put('bin/mutable', mutable);
      mutable.write('CHANGED!');
      expect(await store.get('bin/all')).toEqual(all);
      const empty = await store.get('bin/empty');
      expect(empty).toBeInstanceOf(Buffer);
      expect(empty?.length).toBe(0);
      expect((await store.get('bin/mutable'))?.toString()).toBe('original');
      const read = await store.get('bin/mutable');
      read?.write('XXXXXXXX');
      expect((await store.get('bin/mutable'))?.toString()).toBe('original');
    });

    it('scan returns the entries under a prefix in ascending key order', async () => {
      for (const key of ['q/c', 'q/a', 'q/b/2', 'q/b/1', 'q/b', 'r/a', 'p/z']) await store.put(key, b(`val:${key}`));
      expect(asText(await store.scan('q/'))).toEqual([
        ['q/a', 'val:q/a'],
        ['q/b', 'val:q/b'],
        ['q/b/1', 'val:q/b/1'],
        ['q/b/2', 'val:q/b/2'],
        ['q/c', 'val:q/c'],
      ]);
      expect((await store.scan('')).map((e) => e.key)).toEqual(['p/z', 'q/a', 'q/b', 'q/b/1', 'q/b/2', 'q/c', 'r/a']);
      expect(await store.scan('zz')).toEqual([]);
      expect((await store.scan('q/b/')).map((e) => e.key)).toEqual(['q/b/1', 'q/b/2']);
    });

    it('scan respects prefix boundaries: "a/" is not "ab", and "a" covers both', async () => {
      for (const key of ['a', 'a/1', 'a/2', 'ab', 'ab/1', 'b/1', '`a']) await store.put(key, b(key));
      expect((await store.scan('a/')).map((e) => e.key)).toEqual(['a/1', 'a/2']);
      expect((await store.scan('ab')).map((e) => e.key)).toEqual(['ab', 'ab/1']);
      expect((await store.scan('a')).map((e) => e.key)).toEqual(['a', 'a/1', 'a/2', 'ab', 'ab/1']);
      await store.delete('a/1');
      expect((await store.scan('a/')).map((e) => e.key)).toEqual(['a/2']);
    });

    it('compareAndSet: absent expected, match, mismatch, and delete via undefined', async () => {
      // Absent expected on an absent key creates it.
      expect(await store.compareAndSet('lease/p0', undefined, b('node-1'))).toBe(true);
      expect(await store.get('lease/p0')).toEqual(b('node-1'));
      // Absent expected on a present key fails.
      expect(await store.compareAndSet('lease/p0', undefined, b('node-2'))).toBe(false);
      // Mismatched expected fails and leaves the value.
      expect(await store.compareAndSet('lease/p0', b('node-9'), b('node-2'))).toBe(false);
      expect(await store.get('lease/p0')).toEqual(b('node-1'));
      // Matching expected swaps.
      expect(await store.compareAndSet('lease/p0', b('node-1'), b('node-2'))).toBe(true);
      expect(await store.get('lease/p0')).toEqual(b('node-2'));
      // An expected value on an absent key fails.
      expect(await store.compareAndSet('lease/p1', b('node-1'), b('node-2'))).toBe(false);
      expect(await store.get('lease/p1')).toBeUndefined();
      // next = undefined deletes, only when expected matches.
      expect(await store.compareAndSet('lease/p0', b('node-1'), undefined)).toBe(false);
      expect(await store.get('lease/p0')).toEqual(b('node-2'));
      expect(await store.compareAndSet('lease/p0', b('node-2'), undefined)).toBe(true);
      expect(await store.get('lease/p0')).toBeUndefined();
      expect(await store.scan('lease/')).toEqual([]);
    });

    it('compareAndSet lets exactly one of many concurrent contenders win', async () => {
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.compareAndSet('leader', undefined, b(`n${i}`))),
      );
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      const winner = outcomes.indexOf(true);
      expect(await store.get('leader')).toEqual(b(`n${winner}`));
      const counter = async () => {
        for (;;) {
          const current = await store.get('count');
          const next = b(String(Number(current?.toString() ?? '0') + 1));
          if (await store.compareAndSet('count', current, next)) return;
        }
      };
      await Promise.all(Array.from({ length: 8 }, counter));
      expect((await store.get('count'))?.toString()).toBe('8');
    });

    it('batch applies puts and deletes together, in order', async () => {
      await store.put('g/old', b('x'));
      await store.put('g/keep', b('k'));
      await store.batch([
        { key: 'g/new1', value: b('1') },
        { key: 'g/old', value: undefined },
        { key: 'g/new2', value: b('2') },
        { key: 'g/twice', value: b('first') },
        { key: 'g/twice', value: b('second') },
        { key: 'g/gone', value: b('temp') },
        { key: 'g/gone', value: undefined },
        { key: 'g/absent', value: undefined },
      ]);
      expect(asText(await store.scan('g/'))).toEqual([
        ['g/keep', 'k'],
        ['g/new1', '1'],
        ['g/new2', '2'],
        ['g/twice', 'second'],
      ]);
      await store.batch([]);
      expect(await store.scan('g/')).toHaveLength(4);
    });

    it('batch is atomic to concurrent readers: all of it or none of it', async () => {
      const keys = Array.from({ length: 50 }, (_, i) => `atomic/${String(i).padStart(3, '0')}`);
      await store.batch(keys.map((key) => ({ key, value: b('v1') })));
      const writes = store.batch(keys.map((key) => ({ key, value: b('v2') })));
      const seen: string[][] = [];
      for (let i = 0; i < 5; i++) seen.push((await store.scan('atomic/')).map((e) => e.value.toString()));
      await writes;
      seen.push((await store.scan('atomic/')).map((e) => e.value.toString()));
      for (const values of seen) {
        expect(values).toHaveLength(keys.length);
        expect(new Set(values).size).toBe(1);
      }
      expect(seen.at(-1)?.[0]).toBe('v2');
    });

    it('flush keeps data readable; close + reopen keeps every key (when the factory can reopen)', async () => {
      await store.put('keep/a', b('A'));
      await store.put('keep/b', Buffer.from([0, 1, 2, 255]));
      await store.put('keep/deleted', b('D'));
      await store.delete('keep/deleted');
      await store.compareAndSet('keep/cas', undefined, b('C'));
      await store.batch([
        { key: 'keep/batch', value: b('B') },
        { key: 'keep/a', value: b('A2') },
      ]);
      await store.put('keep/empty', Buffer.alloc(0));
      await store.flush();
      const expected: Array<[string, string]> = [
        ['keep/a', 'A2'],
        ['keep/b', Buffer.from([0, 1, 2, 255]).toString()],
        ['keep/batch', 'B'],
        ['keep/cas', 'C'],
        ['keep/empty', ''],
      ];
      expect(asText(await store.scan('keep/'))).toEqual(expected);
      if (!subject.canReopen) return;

      store = await subject.reopen();
      expect(asText(await store.scan('keep/'))).toEqual(expected);
      expect(await store.get('keep/b')).toEqual(Buffer.from([0, 1, 2, 255]));
      expect(await store.get('keep/deleted')).toBeUndefined();
      expect(await store.compareAndSet('keep/cas', b('C'), b('C2'))).toBe(true);
      await store.delete('keep/batch');

      store = await subject.reopen();
      expect((await store.get('keep/cas'))?.toString()).toBe('C2');
      expect(await store.get('keep/batch')).toBeUndefined();
    });
  });
}
