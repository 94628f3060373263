import { createServer, type Server } from 'node:net';
import type { AuthorizeRequest } from '@robustmq/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryLogStore } from '../src/memory/index.js';
import type { HelloInstance } from './fixtures/plugins/hello/index.js';
import { captureLogger, FIXTURE_REGISTRY, refusalOf, startFixtureBroker } from './fixtures/helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Holds a port on 127.0.0.1 so a plugin that wants it is refused. */
async function occupyPort(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const ask = (resource: string): AuthorizeRequest => ({ protocol: 'test', clientId: 'c1', action: 'publish', resource });

describe('loading a plugin by name through the registry', () => {
  it('runs the hello plugin: its authorize hook denies forbidden/# and records every call', async () => {
    const broker = await startFixtureBroker({ plugins: { hello: { enabled: true } } });
    const hello = broker.plugin('hello') as unknown as HelloInstance;
    expect(hello.greeting).toBe('hello');

    expect(await broker.hooks.authorize(ask('forbidden/secrets'))).toBe('deny');
    expect(await broker.hooks.authorize(ask('forbidden'))).toBe('deny');
    expect(await broker.hooks.authorize(ask('allowed/x'))).toBeUndefined();
    expect(hello.calls.map((c) => c.resource)).toEqual(['forbidden/secrets', 'forbidden', 'allowed/x']);

    // Child container: kernel tokens resolve through it; the plugin's own registrations stay in it.
    expect(hello.resolveRouter()).toBe(broker.router);
    expect(hello.resolveOwn()).toBe('hello');
    expect(broker.container.isRegistered('hello.greeting', true)).toBe(false);
    expect(hello.stores()).toEqual({ logStore: broker.logStore, metaStore: broker.metaStore });
    expect(hello.stores().logStore).toBe(broker.logStore);

    await broker.stop();
    expect(hello.stops).toEqual([10_000]);
    // A stopped plugin's hooks are removed.
    expect(broker.hooks.has('authorize')).toBe(false);
  });

  it('applies defaults, config options and env overrides to the options', async () => {
    const broker = await startFixtureBroker(
      { plugins: { hello: { enabled: true, options: { denyFilter: 'secret/#' } } } },
      // "12345" would coerce to a number; the string schema gets the raw text instead.
      { env: { ROBUSTMQ_HELLO_GREETING: '12345' } },
    );
    const hello = broker.plugin('hello') as unknown as HelloInstance;
    expect(hello.greeting).toBe('12345');
    expect(await broker.hooks.authorize(ask('secret/a'))).toBe('deny');
    expect(await broker.hooks.authorize(ask('forbidden/a'))).toBeUndefined();
    await broker.stop();
  });

  it('enables a plugin from the environment', async () => {
    const broker = await startFixtureBroker({}, { env: { ROBUSTMQ_HELLO_ENABLED: 'true' } });
    expect(broker.plugins().map((p) => p.name)).toEqual(['hello']);
    await broker.stop();
  });

  it('uses a storage plugin that provides its stores', async () => {
    const broker = await startFixtureBroker({ storage: 'store-a' });
    expect(broker.logStore).toBeInstanceOf(MemoryLogStore);
    expect(broker.plugins().map((p) => [p.name, p.state])).toEqual([['store-a', 'started']]);
    await broker.logStore.createTopic('t');
    await broker.stop();
    // Stopped means flushed and closed.
    await expect(broker.logStore.listTopics()).rejects.toThrow(/closed/);
  });

  it('starts plugins by kind: auth, filter, extension, protocol (registry order within a kind)', async () => {
    const broker = await startFixtureBroker({ plugins: { listener: { enabled: true }, hello: { enabled: true } } });
    expect(broker.plugins().map((p) => p.name)).toEqual(['hello', 'listener']);
    await broker.stop();
  });
});

describe('refusals: one line naming the plugin, the field and the fix', () => {
  it('unknown plugin', async () => {
    expect(await refusalOf(startFixtureBroker({ plugins: { helo: { enabled: true } } }))).toBe(
      `plugin helo: plugins.helo: unknown plugin, not in the registry ${FIXTURE_REGISTRY}; fix: remove plugins.helo from the config or correct the name (did you mean hello?); known plugins: store-a, store-b, listener, hello, bad-api, misnamed, wrong-kind, failing-start, slow-stop, ghost`,
    );
  });

  it('incompatible kernelApi', async () => {
    expect(await refusalOf(startFixtureBroker({ plugins: { 'bad-api': { enabled: true } } }))).toBe(
      'plugin bad-api: kernelApi: the plugin needs kernel API ^2 but this kernel provides 1.0.0; fix: use a version of bad-api built for kernel API 1.x, or disable it with plugins.bad-api.enabled: false',
    );
  });

  it('bad option value (from the config and from the environment)', async () => {
    expect(await refusalOf(startFixtureBroker({ plugins: { hello: { enabled: true, options: { maxCalls: -1 } } } }))).toBe(
      'plugin hello: options.maxCalls: too small: expected number to be >0, got -1 (from start options); fix: set plugins.hello.options.maxCalls (or ROBUSTMQ_HELLO_MAX_CALLS) to a valid value',
    );
    expect(
      await refusalOf(
        startFixtureBroker({ plugins: { hello: { enabled: true } } }, { env: { ROBUSTMQ_HELLO_MAX_CALLS: 'lots' } }),
      ),
    ).toBe(
      'plugin hello: options.maxCalls: invalid input: expected number, received string, got "lots" (from ROBUSTMQ_HELLO_MAX_CALLS); fix: set plugins.hello.options.maxCalls (or ROBUSTMQ_HELLO_MAX_CALLS) to a valid value',
    );
  });

  it('unknown option (a plain z.object would silently strip it)', async () => {
    expect(await refusalOf(startFixtureBroker({ plugins: { hello: { enabled: true, options: { maxCals: 5 } } } }))).toBe(
      'plugin hello: options.maxCals: unknown key (from start options); fix: remove it or correct the spelling (did you mean maxCalls?); known keys here: denyFilter, greeting, maxCalls, ready',
    );
  });

  it('name mismatch', async () => {
    expect(await refusalOf(startFixtureBroker({ plugins: { misnamed: { enabled: true } } }))).toBe(
      `plugin misnamed: name: the module declares name "other-name" but the registry lists "misnamed"; fix: make the plugin definition and its registry entry (${FIXTURE_REGISTRY}) agree`,
    );
  });

  it('kind mismatch', async () => {
    expect(await refusalOf(startFixtureBroker({ plugins: { 'wrong-kind': { enabled: true } } }))).toBe(
      `plugin wrong-kind: kind: the module declares kind "extension" but the registry lists "protocol"; fix: make the plugin definition and its registry entry (${FIXTURE_REGISTRY}) agree`,
    );
  });

  it('two storage plugins', async () => {
    expect(await refusalOf(startFixtureBroker({ storage: 'store-a', plugins: { 'store-b': { enabled: true } } }))).toBe(
      'plugin store-b: enabled: a second storage plugin is enabled while storage is store-a (at most one storage plugin runs); fix: set storage (or ROBUSTMQ_STORAGE) to store-b to use it instead, and remove plugins.store-b.enabled',
    );
  });

  it('storage naming something that is not a storage plugin', async () => {
    expect(await refusalOf(startFixtureBroker({ storage: 'hello' }))).toBe(
      'config: storage: "hello" is a extension plugin, not a storage plugin; fix: set storage (or ROBUSTMQ_STORAGE) to memory or one of store-a, store-b',
    );
    expect(await refusalOf(startFixtureBroker({ storage: 'store-a', plugins: { 'store-a': { enabled: false } } }))).toBe(
      'plugin store-a: enabled: storage selects store-a but plugins.store-a.enabled is false; fix: remove plugins.store-a.enabled (or ROBUSTMQ_STORE_A_ENABLED), or set storage (or ROBUSTMQ_STORAGE) to another storage plugin or memory',
    );
  });

  it('a storage plugin that never provides its stores', async () => {
    expect(
      await refusalOf(startFixtureBroker({ storage: 'store-a', plugins: { 'store-a': { options: { provide: false } } } })),
    ).toBe(
      'plugin store-a: provideStorage: the storage plugin started without providing its stores; fix: call ctx.provideStorage({ logStore, metaStore }) in setup or start of store-a, or set storage to another plugin or memory',
    );
  });

  it('an enabled plugin that is not built yet; a disabled one is no problem', async () => {
    const message = await refusalOf(startFixtureBroker({ plugins: { ghost: { enabled: true } } }));
    expect(message).toMatch(
      /^plugin ghost: entry: not built yet \(.*fixtures\/plugins\/ghost\/index\.ts does not exist\); fix: disable it with plugins\.ghost\.enabled: false \(or ROBUSTMQ_GHOST_ENABLED=false\)$/,
    );
    const broker = await startFixtureBroker({ plugins: { ghost: { enabled: false } } });
    expect(broker.plugins()).toEqual([]);
    await broker.stop();
  });

  it('port in use (sdk listen() refusal, field qualified with the option path and env var); started plugins are stopped', async () => {
    const port = await occupyPort();
    const { logger, records } = captureLogger();
    const message = await refusalOf(
      startFixtureBroker({ plugins: { hello: { enabled: true }, listener: { enabled: true, options: { port } } } }, { logger }),
    );
    expect(message).toBe(
      `plugin listener: options.port: port ${port} on 127.0.0.1 is in use; fix: set plugins.listener.options.port (or ROBUSTMQ_LISTENER_PORT) to a free port or stop the process using it`,
    );
    expect(records.map((r) => r.msg)).toContain('hello stopped');
    // The refused plugin itself gets a stop() to release what its failed start may have opened.
    expect(records.map((r) => r.msg)).toContain('listener stopped');
  });

  it('a plugin whose start or setup throws a plain error', async () => {
    expect(await refusalOf(startFixtureBroker({ plugins: { 'failing-start': { enabled: true } } }))).toBe(
      'plugin failing-start: start: start failed: the upstream service refused the connection; fix: check plugins.failing-start.options and the log above, or disable it with plugins.failing-start.enabled: false',
    );
    expect(
      await refusalOf(startFixtureBroker({ plugins: { 'failing-start': { enabled: true, options: { phase: 'setup' } } } })),
    ).toBe(
      'plugin failing-start: setup: setup failed: cannot open the rules file; fix: check plugins.failing-start.options and the log above, or disable it with plugins.failing-start.enabled: false',
    );
  });

  it('reports every refused plugin at once, one line each', async () => {
    const lines = (
      await refusalOf(startFixtureBroker({ plugins: { 'bad-api': { enabled: true }, misnamed: { enabled: true } } }))
    ).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^plugin bad-api: kernelApi: /);
    expect(lines[1]).toMatch(/^plugin misnamed: name: /);
  });
});
