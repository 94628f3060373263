import { createMessage, type Delivery, type Subscriber } from '@robustmq/sdk';
import { describe, expect, it } from 'vitest';
import { PromMetrics } from '../src/metrics.js';
import { TopicRouter } from '../src/router/index.js';

/** MQTT matching written the obvious way, to check the trie against. */
function referenceMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('TopicRouter against a reference matcher', () => {
  const rnd = mulberry32(7);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const words = ['a', 'b', 'c', '', '$x'];
  const topic = () => {
    const n = 1 + Math.floor(rnd() * 4);
    return Array.from({ length: n }, () => pick(words)).join('/') || 'a'; // '' is not a topic
  };
  const filter = () => {
    const n = 1 + Math.floor(rnd() * 4);
    const levels = Array.from({ length: n }, () => (rnd() < 0.25 ? '+' : pick(words)));
    if (rnd() < 0.25) levels[n - 1] = '#';
    return levels.join('/') || 'a'; // '' is not a filter
  };

  it('matches exactly the filters the reference does, through subscribes and unsubscribes', () => {
    const router = new TopicRouter();
    const live = new Map<string, string>(); // subscriber id -> filter
    for (let step = 0; step < 3000; step++) {
      const id = `s${Math.floor(rnd() * 300)}`;
      if (live.has(id) && rnd() < 0.4) {
        expect(router.unsubscribe(id, live.get(id) as string)).toBe(true);
        live.delete(id);
      } else if (!live.has(id)) {
        const f = filter();
        router.subscribe(id, f);
        live.set(id, f);
      }
      if (step % 10 === 0) {
        const t = topic();
        const expected = [...live].filter(([, f]) => referenceMatches(f, t)).map(([, f]) => f);
        const got = router.match(t).map((d) => d.filter);
        expect(got.sort(), `topic ${JSON.stringify(t)}`).toEqual(expected.sort());
        expect(router.hasSubscribers(t)).toBe(expected.length > 0);
      }
    }
    expect(router.size).toBe(live.size);
    for (const [id, f] of live) router.unsubscribe(id, f);
    expect(router.size).toBe(0);
    const root = (router as unknown as { trie: { root: { isEmpty: boolean } } }).trie.root;
    expect(root.isEmpty).toBe(true);
  });

  it('keeps siblings reachable as a level grows to many children and shrinks back to one', () => {
    const router = new TopicRouter();
    for (const leaf of ['b', 'c', 'd']) router.subscribe(leaf, `a/${leaf}`);
    router.unsubscribe('c', 'a/c');
    router.unsubscribe('b', 'a/b');
    expect(router.match('a/d').map((d) => d.filter)).toEqual(['a/d']);
    expect(router.hasSubscribers('a/b')).toBe(false);
    router.subscribe('b', 'a/b');
    expect(router.match('a/b').map((d) => d.filter)).toEqual(['a/b']);
    expect(router.match('a/d').map((d) => d.filter)).toEqual(['a/d']);
  });
});

describe('TopicRouter with the kernel PromMetrics', () => {
  it('exposes drops by reason and the total queue depth', async () => {
    const metrics = new PromMetrics({ defaultMetrics: false });
    const router = new TopicRouter({ metrics, queueLimit: 2 });
    let accept = false;
    const got: Delivery[] = [];
    const s: Subscriber = { id: 's', deliver: (d) => accept && got.push(d) > 0 };
    const handle = router.attach(s);
    router.subscribe('s', 't');
    for (let i = 0; i < 5; i++) {
      router.publish(createMessage({ topic: 't', payload: Buffer.from(`${i}`), origin: { protocol: 'mqtt', clientId: 'p' } }));
    }
    router.publish(
      createMessage({ topic: 't', payload: Buffer.alloc(0), origin: { protocol: 'mqtt', clientId: 'p' }, expiresAt: 1 }),
    );
    let text = await metrics.render();
    expect(text).toMatch(/robustmq_messages_dropped_total\{reason="queue-full"\} 3/);
    expect(text).toMatch(/robustmq_messages_dropped_total\{reason="expired"\} 1/);
    expect(text).toMatch(/robustmq_queue_depth 2/);
    accept = true;
    handle.resume();
    expect(got.map((d) => d.message.payload.toString())).toEqual(['3', '4']);
    text = await metrics.render();
    expect(text).toMatch(/robustmq_queue_depth 0/);
  });
});
