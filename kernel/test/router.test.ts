import {
  type Counter,
  createMessage,
  type Delivery,
  type DroppedInfo,
  type Gauge,
  type HookBus,
  type Message,
  type Metrics,
  type Subscriber,
} from '@robustmq/sdk';
import { describe, expect, it } from 'vitest';
import { TopicRouter } from '../src/router/index.js';

/** A subscriber that records deliveries and accepts while `accept` is true. */
class RecordingSubscriber implements Subscriber {
  readonly received: Delivery[] = [];
  accept = true;
  constructor(
    readonly id: string,
    readonly clientId?: string,
  ) {}

  deliver(delivery: Delivery): boolean {
    if (!this.accept) return false;
    this.received.push(delivery);
    return true;
  }

  get payloads(): string[] {
    return this.received.map((d) => d.message.payload.toString());
  }
}

function msg(topic: string, payload = topic, clientId = 'publisher', extra: Partial<Message> = {}): Message {
  return createMessage({ topic, payload: Buffer.from(payload), origin: { protocol: 'mqtt', clientId }, ...extra });
}

/** Records `dropped` notifications; the only hook the router emits. */
function recordingHooks(): { hooks: HookBus; dropped: DroppedInfo[] } {
  const dropped: DroppedInfo[] = [];
  const hooks = {
    has: (name: string) => name === 'dropped',
    emit: (name: string, arg: DroppedInfo) => {
      if (name === 'dropped') dropped.push(arg);
    },
  } as unknown as HookBus;
  return { hooks, dropped };
}

/** Records counter increments by name+labels and the last gauge value by name. */
function recordingMetrics(): { metrics: Metrics; counts: Map<string, number>; gauges: Map<string, number> } {
  const counts = new Map<string, number>();
  const gauges = new Map<string, number>();
  const metrics: Metrics = {
    counter: (name): Counter => ({
      inc: (labels, value = 1) => {
        const key = `${name}${JSON.stringify(labels ?? {})}`;
        counts.set(key, (counts.get(key) ?? 0) + value);
      },
    }),
    gauge: (name): Gauge => ({
      set: (_labels, value) => gauges.set(name, value),
      inc: (_labels, value = 1) => gauges.set(name, (gauges.get(name) ?? 0) + value),
      dec: (_labels, value = 1) => gauges.set(name, (gauges.get(name) ?? 0) - value),
    }),
    histogram: () => ({ observe: () => {} }),
    render: async () => '',
  };
  return { metrics, counts, gauges };
}

/** Which of `filters` match `topic`, each subscribed by its own subscriber. */
function matchingFilters(filters: string[], topic: string): string[] {
  const router = new TopicRouter();
  filters.forEach((filter, i) => {
    router.subscribe(`s${i}`, filter);
  });
  return router
    .match(topic)
    .map((d) => d.filter)
    .sort();
}

describe('TopicRouter matching', () => {
  const filters = [
    'a',
    'a/b',
    'a/+',
    'a/#',
    '+',
    '#',
    '+/b',
    '+/+',
    '+/#',
    'a/b/c',
    'a/+/c',
    'a//b',
    'a/+/b',
    '/a',
    '/+',
    '+/a',
    '/#',
  ];

  it.each([
    ['a', ['#', '+', '+/#', 'a', 'a/#']],
    ['a/b', ['#', '+/#', '+/+', '+/b', 'a/#', 'a/+', 'a/b']],
    ['a/b/c', ['#', '+/#', 'a/#', 'a/+/c', 'a/b/c']],
    ['a//b', ['#', '+/#', 'a/#', 'a/+/b', 'a//b']],
    ['/a', ['#', '+/#', '+/+', '+/a', '/#', '/+', '/a']],
    ['a/', ['#', '+/#', '+/+', 'a/#', 'a/+']],
    ['x/y/z', ['#', '+/#']],
  ])('%j is matched by exactly %j', (topic, expected) => {
    expect(matchingFilters(filters, topic)).toEqual([...expected].sort());
  });

  it('does not match $-topics with a first-level wildcard', () => {
    const all = ['#', '+', '+/x', '+/#', '+/+', '$SYS/#', '$SYS/+', '$SYS/x', '$SYS'];
    expect(matchingFilters(all, '$SYS/x')).toEqual(['$SYS/#', '$SYS/+', '$SYS/x']);
    expect(matchingFilters(all, '$SYS')).toEqual(['$SYS', '$SYS/#']);
    // Only the first level is special: a `$` further down is an ordinary character.
    expect(matchingFilters(['a/+', 'a/#', '#'], 'a/$x')).toEqual(['#', 'a/#', 'a/+']);
  });

  it('answers hasSubscribers with the same rules', () => {
    const router = new TopicRouter();
    expect(router.hasSubscribers('a')).toBe(false);
    router.subscribe('s', 'a/#');
    expect(router.hasSubscribers('a')).toBe(true);
    expect(router.hasSubscribers('a/b/c')).toBe(true);
    expect(router.hasSubscribers('b')).toBe(false);
    router.subscribe('s', '#');
    expect(router.hasSubscribers('b')).toBe(true);
    expect(router.hasSubscribers('$SYS/x')).toBe(false);
    router.subscribe('s', '$share/g/$SYS/+');
    expect(router.hasSubscribers('$SYS/x')).toBe(true);
    expect(router.hasSubscribers('$SYS/x/y')).toBe(false);
  });

  it('delivers a publish to every attached matching subscriber', () => {
    const router = new TopicRouter();
    const a = new RecordingSubscriber('a');
    const b = new RecordingSubscriber('b');
    router.attach(a);
    router.attach(b);
    router.subscribe('a', 'home/+/temp', { qos: 1 });
    router.subscribe('b', 'home/#');
    expect(router.publish(msg('home/kitchen/temp', '21'))).toEqual({ matched: 2, dropped: 0 });
    expect(router.publish(msg('home/kitchen/humidity', '40'))).toEqual({ matched: 1, dropped: 0 });
    expect(router.publish(msg('office/kitchen/temp', '19'))).toEqual({ matched: 0, dropped: 0 });
    expect(a.received.map((d) => [d.filter, d.options, d.message.topic])).toEqual([
      ['home/+/temp', { qos: 1 }, 'home/kitchen/temp'],
    ]);
    expect(b.payloads).toEqual(['21', '40']);
    expect(a.received[0].overlapping).toBeUndefined();
    expect(a.received[0].group).toBeUndefined();
  });

  it('delivers once per subscriber when several of its filters overlap, choosing the highest QoS', () => {
    const router = new TopicRouter();
    const s = new RecordingSubscriber('s');
    router.attach(s);
    router.subscribe('s', 'a/+', { qos: 0, id: 1 });
    router.subscribe('s', 'a/#', { qos: 2, id: 2 });
    router.subscribe('s', 'a/b', { qos: 1, id: 3 });
    expect(router.publish(msg('a/b'))).toEqual({ matched: 1, dropped: 0 });
    expect(s.received).toHaveLength(1);
    const d = s.received[0];
    expect(d.filter).toBe('a/#');
    expect(d.options).toEqual({ qos: 2, id: 2 });
    expect(d.overlapping?.map((o) => o.options.id).sort()).toEqual([1, 2, 3]);
    expect(d.overlapping?.map((o) => o.filter).sort()).toEqual(['a/#', 'a/+', 'a/b']);
    // a/c matches two of them
    router.publish(msg('a/c'));
    expect(s.received[1].overlapping?.map((o) => o.filter).sort()).toEqual(['a/#', 'a/+']);
  });

  it('skips subscriptions of ids that are not attached when publishing, but reports them in match', () => {
    const router = new TopicRouter();
    router.subscribe('offline', 'a');
    expect(router.size).toBe(1);
    expect(router.publish(msg('a'))).toEqual({ matched: 0, dropped: 0 });
    expect(router.match('a').map((d) => d.filter)).toEqual(['a']);
    const s = new RecordingSubscriber('offline');
    router.attach(s);
    router.publish(msg('a', 'now'));
    expect(s.payloads).toEqual(['now']);
  });
});

describe('TopicRouter subscriptions', () => {
  it('unsubscribes and prunes the trie', () => {
    const router = new TopicRouter();
    const s = new RecordingSubscriber('s');
    router.attach(s);
    expect(router.subscribe('s', 'a/+/c')).toBe(false);
    expect(router.subscribe('s', 'a/#')).toBe(false);
    expect(router.size).toBe(2);
    expect(router.unsubscribe('s', 'a/+/c')).toBe(true);
    expect(router.unsubscribe('s', 'a/+/c')).toBe(false);
    expect(router.unsubscribe('other', 'a/#')).toBe(false);
    expect(router.size).toBe(1);
    router.publish(msg('a/b/c'));
    expect(s.received.map((d) => d.filter)).toEqual(['a/#']);
    expect(router.unsubscribe('s', 'a/#')).toBe(true);
    expect(router.size).toBe(0);
    expect(router.hasSubscribers('a/b/c')).toBe(false);
    expect(router.publish(msg('a/b/c')).matched).toBe(0);
    // The trie is pruned back to an empty root.
    const root = (router as unknown as { trie: { root: { isEmpty: boolean } } }).trie.root;
    expect(root.isEmpty).toBe(true);
  });

  it('keeps other subscribers of the same filter when one unsubscribes', () => {
    const router = new TopicRouter();
    const subs = ['x', 'y', 'z'].map((id) => new RecordingSubscriber(id));
    for (const s of subs) {
      router.attach(s);
      router.subscribe(s.id, 't');
    }
    router.unsubscribe('x', 't');
    router.publish(msg('t'));
    expect(subs.map((s) => s.received.length)).toEqual([0, 1, 1]);
    router.unsubscribe('z', 't');
    router.publish(msg('t'));
    expect(subs.map((s) => s.received.length)).toEqual([0, 2, 1]);
  });

  it('replaces the options when a subscriber re-subscribes to the same filter', () => {
    const router = new TopicRouter();
    const s = new RecordingSubscriber('s');
    router.attach(s);
    expect(router.subscribe('s', 'a', { qos: 0 })).toBe(false);
    expect(router.subscribe('s', 'a', { qos: 2, tag: 'new' })).toBe(true);
    expect(router.size).toBe(1);
    router.publish(msg('a'));
    expect(s.received).toHaveLength(1);
    expect(s.received[0].options).toEqual({ qos: 2, tag: 'new' });
  });

  it('applies No Local against the subscriber clientId (default its id)', () => {
    const router = new TopicRouter();
    const self = new RecordingSubscriber('mqtt:c1', 'c1');
    const plain = new RecordingSubscriber('c2');
    router.attach(self);
    router.attach(plain);
    router.subscribe('mqtt:c1', 'chat', { noLocal: true });
    router.subscribe('c2', 'chat', { noLocal: true });
    router.publish(msg('chat', 'from c1', 'c1'));
    router.publish(msg('chat', 'from c2', 'c2'));
    router.publish(msg('chat', 'from mqtt:c1', 'mqtt:c1'));
    expect(self.payloads).toEqual(['from c2', 'from mqtt:c1']);
    expect(plain.payloads).toEqual(['from c1', 'from mqtt:c1']);
  });

  it('still delivers through an overlapping subscription without No Local', () => {
    const router = new TopicRouter();
    const s = new RecordingSubscriber('s');
    router.attach(s);
    router.subscribe('s', 'chat/#', { noLocal: true, qos: 2 });
    router.subscribe('s', 'chat/+', { qos: 0 });
    router.publish(msg('chat/room', 'own', 's'));
    expect(s.received).toHaveLength(1);
    expect(s.received[0].filter).toBe('chat/+');
    expect(s.received[0].overlapping).toBeUndefined();
  });

  it('detach removes subscriptions and the subscriber; re-attach starts clean', () => {
    const router = new TopicRouter();
    const s = new RecordingSubscriber('s');
    router.attach(s);
    router.subscribe('s', 'a');
    router.subscribe('s', '$share/g/a');
    router.detach('s');
    expect(router.size).toBe(0);
    expect(router.hasSubscribers('a')).toBe(false);
    expect(router.publish(msg('a')).matched).toBe(0);
    router.detach('s'); // unknown id: no-op
    const again = new RecordingSubscriber('s');
    router.attach(again);
    router.publish(msg('a'));
    expect(again.received).toHaveLength(0);
  });

  it('re-attaching an id replaces the subscriber and keeps its subscriptions', () => {
    const router = new TopicRouter();
    const first = new RecordingSubscriber('s');
    const second = new RecordingSubscriber('s');
    const oldHandle = router.attach(first);
    router.subscribe('s', 'a');
    router.attach(second);
    router.publish(msg('a'));
    expect(first.received).toHaveLength(0);
    expect(second.received).toHaveLength(1);
    expect(oldHandle.takeQueued()).toEqual([]);
  });

  it('contains a subscriber whose deliver throws', () => {
    const { hooks, dropped } = recordingHooks();
    const router = new TopicRouter({ hooks });
    const bad: Subscriber = {
      id: 'bad',
      deliver: () => {
        throw new Error('boom');
      },
    };
    const good = new RecordingSubscriber('good');
    router.attach(bad);
    router.attach(good);
    router.subscribe('bad', 't');
    router.subscribe('good', 't');
    expect(router.publish(msg('t'))).toEqual({ matched: 1, dropped: 0 });
    expect(good.received).toHaveLength(1);
    expect(dropped.map((d) => [d.subscriberId, d.reason])).toEqual([['bad', 'subscriber-error']]);
  });
});

describe('TopicRouter shared subscriptions', () => {
  function group(ids: string[], filter = '$share/workers/jobs/+') {
    const router = new TopicRouter();
    const members = ids.map((id) => new RecordingSubscriber(id));
    const handles = members.map((m) => router.attach(m));
    for (const m of members) router.subscribe(m.id, filter, { qos: 1 });
    return { router, members, handles };
  }

  it('gives each publish to one member, round robin', () => {
    const { router, members } = group(['a', 'b', 'c']);
    for (let i = 0; i < 6; i++) expect(router.publish(msg('jobs/x', `m${i}`)).matched).toBe(1);
    expect(members.map((m) => m.payloads)).toEqual([
      ['m0', 'm3'],
      ['m1', 'm4'],
      ['m2', 'm5'],
    ]);
    const d = members[0].received[0];
    expect(d.group).toBe('workers');
    expect(d.filter).toBe('jobs/+');
    expect(d.options).toEqual({ qos: 1 });
  });

  it('match reports the next member without advancing the round robin', () => {
    const { router, members } = group(['a', 'b']);
    router.publish(msg('jobs/x', 'm0'));
    const peeked = router.match('jobs/x');
    expect(peeked).toHaveLength(1);
    expect(peeked[0].group).toBe('workers');
    expect(router.match('jobs/x')).toHaveLength(1);
    router.publish(msg('jobs/x', 'm1'));
    expect(members.map((m) => m.payloads)).toEqual([['m0'], ['m1']]);
  });

  it('continues with the remaining members when one unsubscribes or detaches', () => {
    const { router, members } = group(['a', 'b', 'c']);
    router.publish(msg('jobs/x', 'm0')); // a
    expect(router.unsubscribe('b', '$share/workers/jobs/+')).toBe(true);
    router.publish(msg('jobs/x', 'm1'));
    router.publish(msg('jobs/x', 'm2'));
    router.detach('c');
    router.publish(msg('jobs/x', 'm3'));
    router.publish(msg('jobs/x', 'm4'));
    expect(members.map((m) => m.payloads)).toEqual([['m0', 'm2', 'm3', 'm4'], [], ['m1']]);
    router.detach('a');
    expect(router.size).toBe(0);
    expect(router.hasSubscribers('jobs/x')).toBe(false);
    expect(router.publish(msg('jobs/x')).matched).toBe(0);
  });

  it('skips a paused or refusing member in favour of a ready one', () => {
    const { router, members, handles } = group(['a', 'b', 'c']);
    const [a, b, c] = members;
    b.accept = false; // b refuses: the message goes to the next ready member instead
    for (let i = 0; i < 4; i++) router.publish(msg('jobs/x', `m${i}`));
    expect(a.payloads).toEqual(['m0', 'm2']);
    expect(b.payloads).toEqual([]);
    expect(c.payloads).toEqual(['m1', 'm3']);
    expect(handles[1].queued).toBe(0);
    // Every member paused: queued at the member with the shortest queue.
    a.accept = false;
    c.accept = false;
    for (let i = 4; i < 7; i++) expect(router.publish(msg('jobs/x', `m${i}`))).toEqual({ matched: 1, dropped: 0 });
    expect(handles.map((h) => h.queued).reduce((x, y) => x + y, 0)).toBe(3);
    expect(Math.max(...handles.map((h) => h.queued))).toBe(1);
    b.accept = true;
    handles[1].resume();
    expect(b.payloads).toHaveLength(1);
  });

  it('keeps groups apart: per group name, per filter, and from non-shared subscriptions', () => {
    const router = new TopicRouter();
    const s = new RecordingSubscriber('s');
    const t = new RecordingSubscriber('t');
    router.attach(s);
    router.attach(t);
    router.subscribe('s', 'jobs/1');
    router.subscribe('s', '$share/g1/jobs/+');
    router.subscribe('s', '$share/g1/jobs/#');
    router.subscribe('t', '$share/g2/jobs/+');
    expect(router.size).toBe(4);
    expect(router.publish(msg('jobs/1')).matched).toBe(4);
    expect(s.received.map((d) => `${d.group ?? '-'} ${d.filter}`).sort()).toEqual(['- jobs/1', 'g1 jobs/#', 'g1 jobs/+']);
    expect(t.received.map((d) => `${d.group} ${d.filter}`)).toEqual(['g2 jobs/+']);
    expect(router.unsubscribe('s', 'jobs/+')).toBe(false);
    expect(router.unsubscribe('s', '$share/g1/jobs/+')).toBe(true);
  });

  it('does not give a member its own message when it asked for No Local', () => {
    const router = new TopicRouter();
    const a = new RecordingSubscriber('a');
    const b = new RecordingSubscriber('b');
    router.attach(a);
    router.attach(b);
    router.subscribe('a', '$share/g/t', { noLocal: true });
    router.subscribe('b', '$share/g/t');
    for (let i = 0; i < 3; i++) router.publish(msg('t', `m${i}`, 'a'));
    expect(a.payloads).toEqual([]);
    expect(b.payloads).toEqual(['m0', 'm1', 'm2']);
  });
});

describe('TopicRouter bounded queues', () => {
  it('queues after a refusal and drops the oldest when full (drop-oldest)', () => {
    const { hooks, dropped } = recordingHooks();
    const { metrics, counts, gauges } = recordingMetrics();
    const router = new TopicRouter({ queueLimit: 3, hooks, metrics });
    const s = new RecordingSubscriber('s');
    const handle = router.attach(s);
    router.subscribe('s', 't');
    s.accept = false;
    const results = [1, 2, 3, 4, 5].map((i) => router.publish(msg('t', `m${i}`)));
    expect(results.map((r) => r.dropped)).toEqual([0, 0, 0, 1, 1]);
    expect(results.every((r) => r.matched === 1)).toBe(true);
    expect(handle.queued).toBe(3);
    expect(dropped.map((d) => [d.message.payload.toString(), d.subscriberId, d.reason])).toEqual([
      ['m1', 's', 'queue-full'],
      ['m2', 's', 'queue-full'],
    ]);
    expect(counts.get('robustmq_messages_dropped_total{"reason":"queue-full"}')).toBe(2);
    expect(gauges.get('robustmq_queue_depth')).toBe(3);
    s.accept = true;
    handle.resume();
    expect(s.payloads).toEqual(['m3', 'm4', 'm5']);
    expect(handle.queued).toBe(0);
    expect(gauges.get('robustmq_queue_depth')).toBe(0);
  });

  it('refuses the newest when full (drop-newest), per attach options', () => {
    const { hooks, dropped } = recordingHooks();
    const router = new TopicRouter({ queueLimit: 100, hooks });
    const s = new RecordingSubscriber('s');
    const handle = router.attach(s, { queueLimit: 2, dropPolicy: 'drop-newest' });
    router.subscribe('s', 't');
    s.accept = false;
    const results = [1, 2, 3, 4].map((i) => router.publish(msg('t', `m${i}`)));
    expect(results).toEqual([
      { matched: 1, dropped: 0 },
      { matched: 1, dropped: 0 },
      { matched: 0, dropped: 1 },
      { matched: 0, dropped: 1 },
    ]);
    expect(dropped.map((d) => d.message.payload.toString())).toEqual(['m3', 'm4']);
    s.accept = true;
    handle.resume();
    expect(s.payloads).toEqual(['m1', 'm2']);
  });

  it('stays paused until resume, and keeps order when deliver refuses again mid-resume', () => {
    const router = new TopicRouter();
    let budget = 0;
    const got: string[] = [];
    const s: Subscriber = {
      id: 's',
      deliver: (d) => {
        if (budget === 0) return false;
        budget--;
        got.push(d.message.payload.toString());
        return true;
      },
    };
    const handle = router.attach(s);
    router.subscribe('s', 't');
    for (let i = 1; i <= 5; i++) router.publish(msg('t', `m${i}`));
    expect(handle.queued).toBe(5);
    budget = 100; // able again, but paused: later publishes still queue behind the earlier ones
    router.publish(msg('t', 'm6'));
    expect(got).toEqual([]);
    budget = 2;
    handle.resume();
    expect(got).toEqual(['m1', 'm2']);
    expect(handle.queued).toBe(4);
    router.publish(msg('t', 'm7'));
    budget = 100;
    handle.resume();
    expect(got).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    router.publish(msg('t', 'm8')); // ready again: delivered directly
    expect(got.at(-1)).toBe('m8');
    expect(handle.queued).toBe(0);
  });

  it('keeps order when a subscriber publishes to itself while its queue is re-offered', () => {
    const router = new TopicRouter();
    const got: string[] = [];
    let accept = false;
    const s: Subscriber = {
      id: 's',
      deliver: (d) => {
        if (!accept) return false;
        const p = d.message.payload.toString();
        got.push(p);
        if (p === 'm1') router.publish(msg('t', 'echo'));
        return true;
      },
    };
    const handle = router.attach(s);
    router.subscribe('s', 't');
    router.publish(msg('t', 'm1'));
    router.publish(msg('t', 'm2'));
    accept = true;
    handle.resume();
    expect(got).toEqual(['m1', 'm2', 'echo']);
  });

  it('takeQueued empties the queue and returns it in order', () => {
    const router = new TopicRouter();
    const s = new RecordingSubscriber('s');
    const handle = router.attach(s);
    router.subscribe('s', 't/#');
    s.accept = false;
    router.publish(msg('t/1', 'a'));
    router.publish(msg('t/2', 'b'));
    const taken = handle.takeQueued();
    expect(taken.map((d) => [d.message.payload.toString(), d.filter])).toEqual([
      ['a', 't/#'],
      ['b', 't/#'],
    ]);
    expect(handle.queued).toBe(0);
    expect(handle.takeQueued()).toEqual([]);
    s.accept = true;
    handle.resume();
    expect(s.received).toHaveLength(0);
  });

  it('detach drops the queue and the handle stops working', () => {
    const { hooks, dropped } = recordingHooks();
    const { metrics, gauges } = recordingMetrics();
    const router = new TopicRouter({ hooks, metrics });
    const s = new RecordingSubscriber('s');
    const handle = router.attach(s);
    router.subscribe('s', 't');
    s.accept = false;
    router.publish(msg('t', 'a'));
    router.publish(msg('t', 'b'));
    expect(gauges.get('robustmq_queue_depth')).toBe(2);
    router.detach('s');
    expect(gauges.get('robustmq_queue_depth')).toBe(0);
    expect(dropped.map((d) => d.reason)).toEqual(['detached', 'detached']);
    expect(handle.queued).toBe(0);
    s.accept = true;
    handle.resume();
    expect(s.received).toHaveLength(0);
    expect(router.size).toBe(0);
  });

  it('a queue limit of 0 drops every delivery while paused', () => {
    const router = new TopicRouter({ queueLimit: 0 });
    const s = new RecordingSubscriber('s');
    const handle = router.attach(s);
    router.subscribe('s', 't');
    s.accept = false;
    expect(router.publish(msg('t'))).toEqual({ matched: 0, dropped: 1 });
    expect(handle.queued).toBe(0);
  });
});

describe('TopicRouter message expiry', () => {
  it('does not deliver a message whose expiry has passed', () => {
    const { hooks, dropped } = recordingHooks();
    const { metrics, counts } = recordingMetrics();
    const router = new TopicRouter({ hooks, metrics });
    const s = new RecordingSubscriber('s');
    router.attach(s);
    router.subscribe('s', 't');
    expect(router.publish(msg('t', 'old', 'p', { expiresAt: Date.now() - 1 }))).toEqual({ matched: 0, dropped: 0 });
    expect(router.publish(msg('t', 'fresh', 'p', { expiresAt: Date.now() + 60_000 })).matched).toBe(1);
    expect(s.payloads).toEqual(['fresh']);
    expect(dropped.map((d) => [d.message.payload.toString(), d.reason, d.subscriberId])).toEqual([['old', 'expired', undefined]]);
    expect(counts.get('robustmq_messages_dropped_total{"reason":"expired"}')).toBe(1);
  });

  it('skips queued deliveries that expired before resume or takeQueued', () => {
    let now = 1_000;
    const clock = {
      now: () => now,
      setTimeout,
      clearTimeout,
      setInterval,
      clearInterval,
    };
    const { hooks, dropped } = recordingHooks();
    const router = new TopicRouter({ clock, hooks });
    const s = new RecordingSubscriber('s');
    const handle = router.attach(s);
    router.subscribe('s', 't');
    s.accept = false;
    router.publish(msg('t', 'short', 'p', { expiresAt: 1_500 }));
    router.publish(msg('t', 'long', 'p', { expiresAt: 5_000 }));
    router.publish(msg('t', 'forever'));
    expect(handle.queued).toBe(3);
    now = 2_000;
    s.accept = true;
    handle.resume();
    expect(s.payloads).toEqual(['long', 'forever']);
    s.accept = false;
    router.publish(msg('t', 'later', 'p', { expiresAt: 3_000 }));
    router.publish(msg('t', 'kept'));
    now = 4_000;
    expect(handle.takeQueued().map((d) => d.message.payload.toString())).toEqual(['kept']);
    expect(dropped.map((d) => [d.message.payload.toString(), d.reason])).toEqual([
      ['short', 'expired'],
      ['later', 'expired'],
    ]);
  });
});

describe('TopicRouter re-entrancy', () => {
  it('handles a subscriber that detaches itself from inside deliver', () => {
    const { hooks, dropped } = recordingHooks();
    const { metrics, gauges } = recordingMetrics();
    const router = new TopicRouter({ hooks, metrics });
    const s: Subscriber = {
      id: 's',
      deliver: () => {
        router.detach('s');
        return false;
      },
    };
    const other = new RecordingSubscriber('other');
    router.attach(s);
    router.attach(other);
    router.subscribe('s', 't');
    router.subscribe('other', 't');
    expect(router.publish(msg('t'))).toEqual({ matched: 1, dropped: 0 });
    expect(other.received).toHaveLength(1);
    expect(dropped.map((d) => [d.subscriberId, d.reason])).toEqual([['s', 'detached']]);
    expect(gauges.get('robustmq_queue_depth') ?? 0).toBe(0);
    expect(router.size).toBe(1);
  });

  it('handles a subscriber that detaches itself while its queue is re-offered', () => {
    const { metrics, gauges } = recordingMetrics();
    const router = new TopicRouter({ metrics });
    let mode: 'refuse' | 'leave' = 'refuse';
    const s: Subscriber = {
      id: 's',
      deliver: () => {
        if (mode === 'refuse') return false;
        router.detach('s');
        return false;
      },
    };
    const handle = router.attach(s);
    router.subscribe('s', 't');
    router.publish(msg('t', '1'));
    router.publish(msg('t', '2'));
    expect(gauges.get('robustmq_queue_depth')).toBe(2);
    mode = 'leave';
    handle.resume();
    expect(gauges.get('robustmq_queue_depth')).toBe(0);
    expect(handle.queued).toBe(0);
    expect(router.size).toBe(0);
  });
});
