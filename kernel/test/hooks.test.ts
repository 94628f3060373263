import { type Counter, createMessage, isPromise, type Labels, type Logger, type Message, type Metrics } from '@robustmq/sdk';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KernelHookBus, type KernelHookBusOptions } from '../src/hooks/index.js';

/** Captures warnings so tests can check what the bus logged. */
function recordingLogger(): Logger & { warnings: Array<{ obj: unknown; msg?: string }> } {
  const warnings: Array<{ obj: unknown; msg?: string }> = [];
  const noop = () => {};
  const logger = {
    warnings,
    level: 'info',
    trace: noop,
    debug: noop,
    info: noop,
    error: noop,
    fatal: noop,
    warn: (obj: unknown, msg?: string) => warnings.push({ obj, msg }),
    child: () => logger,
  };
  return logger;
}

/** Counter-only metrics double: counts per name and label set. */
function countingMetrics(): Metrics & { value(name: string, labels: Labels): number } {
  const counts = new Map<string, number>();
  const key = (name: string, labels: Labels = {}) => `${name}${JSON.stringify(Object.entries(labels).sort())}`;
  const unsupported = () => {
    throw new Error('not used by the hook bus');
  };
  return {
    counter: (name): Counter => ({
      inc: (labels, value = 1) => counts.set(key(name, labels), (counts.get(key(name, labels)) ?? 0) + value),
    }),
    gauge: unsupported,
    histogram: unsupported,
    render: async () => '',
    value: (name, labels) => counts.get(key(name, labels)) ?? 0,
  };
}

function setup(options: Partial<KernelHookBusOptions> = {}) {
  const logger = recordingLogger();
  const metrics = countingMetrics();
  const bus = new KernelHookBus({ logger, metrics, ...options });
  const hookErrors = (hook: string, owner: string) => metrics.value('robustmq_hook_errors_total', { hook, owner });
  return { bus, logger, metrics, hookErrors };
}

const msg = (topic = 'a/b', payload = 'x'): Message =>
  createMessage({ topic, payload: Buffer.from(payload), origin: { protocol: 'mqtt', clientId: 'c1' } });
const authn = { protocol: 'mqtt', clientId: 'c1', username: 'u' };
const authz = { protocol: 'mqtt', clientId: 'c1', action: 'publish' as const, resource: 'a/b' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('KernelHookBus ordering and registration', () => {
  it('runs handlers by order, then registration order', () => {
    const { bus } = setup();
    const calls: string[] = [];
    bus.register('published', () => void calls.push('b0'), { order: 0 });
    bus.register('published', () => void calls.push('c10'), { order: 10 });
    bus.register('published', () => void calls.push('a-5'), { order: -5 });
    bus.register('published', () => void calls.push('d0'));
    bus.register('published', () => void calls.push('e10'), { order: 10 });
    bus.emit('published', msg());
    expect(calls).toEqual(['a-5', 'b0', 'd0', 'c10', 'e10']);
  });

  it('unregister removes the handler, is idempotent, and has() follows', () => {
    const { bus } = setup();
    const calls: string[] = [];
    expect(bus.has('published')).toBe(false);
    const off1 = bus.register('published', () => void calls.push('one'));
    const off2 = bus.register('published', () => void calls.push('two'));
    expect(bus.has('published')).toBe(true);
    expect(bus.has('delivered')).toBe(false);
    off1();
    off1();
    bus.emit('published', msg());
    expect(calls).toEqual(['two']);
    off2();
    expect(bus.has('published')).toBe(false);
    bus.emit('published', msg());
    expect(calls).toEqual(['two']);
  });

  it('a run in progress keeps its snapshot when a handler unregisters another', () => {
    const { bus } = setup();
    const calls: string[] = [];
    let offSecond = () => {};
    bus.register('clientConnected', () => {
      calls.push('first');
      offSecond();
    });
    offSecond = bus.register('clientConnected', () => void calls.push('second'));
    bus.emit('clientConnected', { protocol: 'mqtt', clientId: 'c1' });
    bus.emit('clientConnected', { protocol: 'mqtt', clientId: 'c1' });
    expect(calls).toEqual(['first', 'second', 'first']);
  });

  it('refuses unknown hook names and non-function handlers', () => {
    const { bus } = setup();
    expect(() => bus.register('nope' as 'filter', () => ({ verdict: 'pass' }))).toThrow(/unknown hook "nope"/);
    expect(() => bus.register('filter', 42 as never)).toThrow(/must be a function/);
  });

  it('forOwner() reports failures under the scoped owner unless one is given', () => {
    const { bus, hookErrors } = setup();
    const scoped = bus.forOwner('auth-file');
    scoped.register('authorize', () => {
      throw new Error('boom');
    });
    scoped.register(
      'published',
      () => {
        throw new Error('boom');
      },
      { owner: 'explicit' },
    );
    expect(scoped.authorize(authz)).toBe('deny');
    scoped.emit('published', msg());
    expect(hookErrors('authorize', 'auth-file')).toBe(1);
    expect(hookErrors('published', 'explicit')).toBe(1);
    expect(scoped.has('authorize')).toBe(true);
  });
});

describe('KernelHookBus results', () => {
  it('with no handlers: authenticate/authorize are undefined, filter passes the same message, all synchronously', () => {
    const { bus } = setup();
    const m = msg();
    expect(bus.authenticate(authn)).toBeUndefined();
    expect(bus.authorize(authz)).toBeUndefined();
    const out = bus.filter(m);
    expect(isPromise(out)).toBe(false);
    expect(out).toEqual({ verdict: 'pass', message: m });
    expect((out as { message: Message }).message).toBe(m);
  });

  it('synchronous handlers give plain values, not promises', () => {
    const { bus } = setup();
    bus.register('authenticate', () => undefined);
    bus.register('authenticate', () => ({ outcome: 'allow', principal: 'u' }));
    bus.register('authorize', () => 'allow');
    bus.register('filter', () => ({ verdict: 'pass' }));
    const a = bus.authenticate(authn);
    const z = bus.authorize(authz);
    const f = bus.filter(msg());
    for (const v of [a, z, f]) {
      expect(isPromise(v)).toBe(false);
      expect(v).not.toBeInstanceOf(Promise);
    }
    expect(a).toEqual({ outcome: 'allow', principal: 'u' });
    expect(z).toBe('allow');
    expect(f).toMatchObject({ verdict: 'pass' });
  });

  it('first non-undefined answer wins and later handlers are not called', () => {
    const { bus } = setup();
    const later = vi.fn(() => 'allow' as const);
    bus.register('authorize', () => undefined);
    bus.register('authorize', () => 'deny');
    bus.register('authorize', later);
    expect(bus.authorize(authz)).toBe('deny');
    expect(later).not.toHaveBeenCalled();

    const laterAuth = vi.fn(() => ({ outcome: 'allow' as const }));
    bus.register('authenticate', () => ({ outcome: 'continue', data: Buffer.from('step') }));
    bus.register('authenticate', laterAuth);
    expect(bus.authenticate(authn)).toMatchObject({ outcome: 'continue' });
    expect(laterAuth).not.toHaveBeenCalled();
  });

  it('all handlers answering undefined gives undefined', () => {
    const { bus } = setup();
    bus.register('authenticate', () => undefined);
    bus.register('authorize', () => undefined);
    expect(bus.authenticate(authn)).toBeUndefined();
    expect(bus.authorize(authz)).toBeUndefined();
  });

  it('an async handler switches to a promise and the rest of the chain continues after it', async () => {
    const { bus } = setup();
    const calls: string[] = [];
    bus.register('authorize', () => {
      calls.push('sync-undefined');
      return undefined;
    });
    bus.register('authorize', async () => {
      calls.push('async-undefined');
      return undefined;
    });
    bus.register('authorize', () => {
      calls.push('sync-allow');
      return 'allow';
    });
    const result = bus.authorize(authz);
    expect(isPromise(result)).toBe(true);
    await expect(result).resolves.toBe('allow');
    expect(calls).toEqual(['sync-undefined', 'async-undefined', 'sync-allow']);

    bus.register('authenticate', async () => ({ outcome: 'allow', principal: 'p' }));
    await expect(bus.authenticate(authn)).resolves.toEqual({ outcome: 'allow', principal: 'p' });
  });

  it('filter chain: transform feeds the next filter, drop stops the chain', async () => {
    const { bus } = setup();
    const seen: string[] = [];
    bus.register('filter', (m) => {
      seen.push(`1:${m.payload}`);
      return { verdict: 'transform', message: { ...m, payload: Buffer.from(`${m.payload}+1`) } };
    });
    bus.register('filter', async (m) => {
      seen.push(`2:${m.payload}`);
      return { verdict: 'transform', message: { ...m, payload: Buffer.from(`${m.payload}+2`) } };
    });
    bus.register('filter', (m) => {
      seen.push(`3:${m.payload}`);
      return { verdict: 'pass' };
    });
    const out = await bus.filter(msg('t', 'x'));
    expect(out.verdict).toBe('pass');
    expect((out as { message: Message }).message.payload.toString()).toBe('x+1+2');
    expect(seen).toEqual(['1:x', '2:x+1', '3:x+1+2']);

    const after = vi.fn(() => ({ verdict: 'pass' as const }));
    bus.register('filter', (m) => (m.topic === 'secret' ? { verdict: 'drop', reason: 'no secrets' } : { verdict: 'pass' }));
    bus.register('filter', after);
    expect(await bus.filter(msg('secret'))).toEqual({ verdict: 'drop', reason: 'no secrets' });
    expect(after).not.toHaveBeenCalled();
    const passed = await bus.filter(msg('public', 'y'));
    expect(passed).toMatchObject({ verdict: 'pass' });
    expect(after).toHaveBeenCalledTimes(1);
  });

  it('a synchronous drop is returned synchronously', () => {
    const { bus } = setup();
    bus.register('filter', () => ({ verdict: 'drop', reason: 'spam' }));
    expect(bus.filter(msg())).toEqual({ verdict: 'drop', reason: 'spam' });
  });
});

describe('KernelHookBus containment', () => {
  it('a throwing authenticate handler denies with a reason naming the failure, logged and counted', () => {
    const { bus, logger, hookErrors } = setup();
    const later = vi.fn(() => ({ outcome: 'allow' as const }));
    bus.register(
      'authenticate',
      () => {
        throw new Error('ldap down');
      },
      { owner: 'auth-ldap' },
    );
    bus.register('authenticate', later);
    const result = bus.authenticate(authn);
    expect(isPromise(result)).toBe(false);
    expect(result).toMatchObject({ outcome: 'deny' });
    expect((result as { reason: string }).reason).toMatch(/auth-ldap/);
    expect((result as { reason: string }).reason).toMatch(/ldap down/);
    expect(later).not.toHaveBeenCalled();
    expect(hookErrors('authenticate', 'auth-ldap')).toBe(1);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0].obj).toMatchObject({ hook: 'authenticate', owner: 'auth-ldap' });
  });

  it('a rejecting authenticate handler denies too', async () => {
    const { bus, hookErrors } = setup();
    bus.register('authenticate', () => Promise.reject(new Error('token service 503')), { owner: 'auth-jwt' });
    const result = await bus.authenticate(authn);
    expect(result).toMatchObject({ outcome: 'deny' });
    expect((result as { reason: string }).reason).toMatch(/token service 503/);
    expect(hookErrors('authenticate', 'auth-jwt')).toBe(1);
  });

  it('a throwing or rejecting authorize handler denies', async () => {
    const { bus, logger, hookErrors } = setup();
    const offSync = bus.register(
      'authorize',
      () => {
        throw new Error('acl bug');
      },
      { owner: 'acl' },
    );
    bus.register('authorize', () => 'allow');
    expect(bus.authorize(authz)).toBe('deny');
    offSync();
    bus.register('authorize', async () => Promise.reject(new Error('later bug')), { owner: 'acl-async', order: -1 });
    await expect(bus.authorize(authz)).resolves.toBe('deny');
    expect(hookErrors('authorize', 'acl')).toBe(1);
    expect(hookErrors('authorize', 'acl-async')).toBe(1);
    expect(logger.warnings.map((w) => w.obj)).toEqual([
      expect.objectContaining({ hook: 'authorize', owner: 'acl' }),
      expect.objectContaining({ hook: 'authorize', owner: 'acl-async' }),
    ]);
  });

  it('a throwing filter passes the current message under the default policy', async () => {
    const { bus, hookErrors } = setup();
    const seen: string[] = [];
    bus.register('filter', (m) => ({ verdict: 'transform', message: { ...m, topic: 'changed' } }));
    bus.register(
      'filter',
      () => {
        throw new Error('rule crashed');
      },
      { owner: 'rules' },
    );
    bus.register('filter', async () => Promise.reject(new Error('async rule crashed')), { owner: 'rules2' });
    bus.register('filter', (m) => {
      seen.push(m.topic);
      return { verdict: 'pass' };
    });
    const out = await bus.filter(msg('orig'));
    expect(out).toMatchObject({ verdict: 'pass', message: { topic: 'changed' } });
    expect(seen).toEqual(['changed']);
    expect(hookErrors('filter', 'rules')).toBe(1);
    expect(hookErrors('filter', 'rules2')).toBe(1);
  });

  it("a throwing filter drops under filterFailure 'drop'", async () => {
    const { bus, hookErrors } = setup({ filterFailure: 'drop' });
    const after = vi.fn(() => ({ verdict: 'pass' as const }));
    bus.register(
      'filter',
      () => {
        throw new Error('rule crashed');
      },
      { owner: 'rules' },
    );
    bus.register('filter', after);
    const out = bus.filter(msg());
    expect(out).toMatchObject({ verdict: 'drop' });
    expect((out as { reason: string }).reason).toMatch(/rules.*rule crashed/);
    expect(after).not.toHaveBeenCalled();
    expect(hookErrors('filter', 'rules')).toBe(1);
  });

  it('an invalid answer is contained like a failure', () => {
    const { bus, hookErrors } = setup();
    bus.register('authorize', () => 'maybe' as never, { owner: 'odd' });
    bus.register('filter', () => undefined as never, { owner: 'odd' });
    expect(bus.authorize(authz)).toBe('deny');
    expect(bus.filter(msg())).toMatchObject({ verdict: 'pass' });
    expect(hookErrors('authorize', 'odd')).toBe(1);
    expect(hookErrors('filter', 'odd')).toBe(1);
  });

  it('notification handlers that throw or reject are ignored and the next ones still run', async () => {
    const { bus, logger, hookErrors } = setup();
    const calls: string[] = [];
    bus.register(
      'delivered',
      () => {
        throw new Error('sync notify');
      },
      { owner: 'n1' },
    );
    bus.register('delivered', () => Promise.reject(new Error('async notify')), { owner: 'n2' });
    bus.register('delivered', () => void calls.push('n3'));
    expect(() => bus.emit('delivered', { message: msg(), subscriberId: 's', protocol: 'mqtt' })).not.toThrow();
    expect(calls).toEqual(['n3']);
    await sleep(5);
    expect(hookErrors('delivered', 'n1')).toBe(1);
    expect(hookErrors('delivered', 'n2')).toBe(1);
    expect(logger.warnings.map((w) => w.obj)).toEqual([
      expect.objectContaining({ hook: 'delivered', owner: 'n1' }),
      expect.objectContaining({ hook: 'delivered', owner: 'n2' }),
    ]);
  });

  it('a broken logger cannot make emit throw', () => {
    const logger = recordingLogger();
    logger.warn = () => {
      throw new Error('logger broken');
    };
    const bus = new KernelHookBus({ logger });
    bus.register('published', () => {
      throw new Error('x');
    });
    expect(() => bus.emit('published', msg())).not.toThrow();
  });
});

describe('KernelHookBus deadlines', () => {
  it('a hanging handler is abandoned at the bus deadline: authorize denies', async () => {
    const { bus, logger, hookErrors } = setup({ deadlineMs: 30 });
    bus.register('authorize', () => new Promise<never>(() => {}), { owner: 'slow' });
    const started = Date.now();
    await expect(bus.authorize(authz)).resolves.toBe('deny');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(25);
    expect(elapsed).toBeLessThan(1000);
    expect(hookErrors('authorize', 'slow')).toBe(1);
    expect(logger.warnings[0].obj).toMatchObject({ hook: 'authorize', owner: 'slow', failure: 'deadline' });
  });

  it("the handler's own deadlineMs overrides the bus default", async () => {
    const { bus, hookErrors } = setup({ deadlineMs: 60_000 });
    bus.register('authenticate', () => new Promise<never>(() => {}), { owner: 'slow', deadlineMs: 20 });
    const result = await bus.authenticate(authn);
    expect(result).toMatchObject({ outcome: 'deny' });
    expect((result as { reason: string }).reason).toMatch(/20 ms/);
    expect(hookErrors('authenticate', 'slow')).toBe(1);
  });

  it('a hanging filter is skipped (pass policy) and the chain continues', async () => {
    const { bus, hookErrors } = setup({ deadlineMs: 20 });
    bus.register('filter', () => new Promise<never>(() => {}), { owner: 'stuck' });
    bus.register('filter', (m) => ({ verdict: 'transform', message: { ...m, topic: 'after' } }));
    await expect(bus.filter(msg())).resolves.toMatchObject({ verdict: 'pass', message: { topic: 'after' } });
    expect(hookErrors('filter', 'stuck')).toBe(1);
  });

  it('a late resolution or rejection changes nothing and raises no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { bus, hookErrors } = setup({ deadlineMs: 20 });
      let lateAllowSettled = false;
      bus.register('authorize', () =>
        sleep(60).then(() => {
          lateAllowSettled = true;
          return 'allow' as const;
        }),
      );
      bus.register('filter', () => sleep(60).then(() => Promise.reject(new Error('late failure'))), { owner: 'late' });
      bus.register('published', () => sleep(60).then(() => Promise.reject(new Error('late notify'))), { owner: 'late' });

      await expect(bus.authorize(authz)).resolves.toBe('deny');
      const m = msg();
      await expect(bus.filter(m)).resolves.toEqual({ verdict: 'pass', message: m });
      bus.emit('published', m);
      await sleep(120);
      expect(lateAllowSettled).toBe(true);
      expect(unhandled).toEqual([]);
      // Counted once at the deadline; the late settlement is not counted again.
      expect(hookErrors('authorize', 'anonymous')).toBe(1);
      expect(hookErrors('filter', 'late')).toBe(1);
      expect(hookErrors('published', 'late')).toBe(1);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('deadline timers are unref()ed and cleared once the handler answers', async () => {
    const created: NodeJS.Timeout[] = [];
    const realSetTimeout = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      const t = realSetTimeout(fn, ms);
      created.push(t);
      return t;
    }) as typeof setTimeout);
    const cleared = vi.spyOn(globalThis, 'clearTimeout');
    const { bus } = setup({ deadlineMs: 60_000 });
    bus.register('authorize', async () => 'allow' as const);
    await expect(bus.authorize(authz)).resolves.toBe('allow');
    expect(created).toHaveLength(1);
    expect(created[0].hasRef()).toBe(false);
    expect(cleared).toHaveBeenCalledWith(created[0]);
  });

  it('synchronous handlers never arm a timer', () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const { bus } = setup();
    bus.register('authorize', () => 'allow');
    bus.register('filter', () => ({ verdict: 'pass' }));
    bus.authorize(authz);
    bus.filter(msg());
    expect(setTimeoutSpy).not.toHaveBeenCalled();
  });
});
