import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { camelFromSnake, loadConfig, pluginEnvVar, snakeFromCamel } from '../src/config/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'robustmq-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function refusal(options: Parameters<typeof loadConfig>[0]): Promise<string> {
  try {
    await loadConfig(options);
  } catch (err) {
    expect((err as Error).name).toBe('StartupError');
    return (err as Error).message;
  }
  throw new Error('expected loadConfig to refuse');
}

const plugins = [
  { name: 'protocol-mqtt', envPrefix: 'MQTT' },
  { name: 'auth-file', envPrefix: 'AUTH_FILE' },
  { name: 'auth-x', envPrefix: 'AUTH' },
];

describe('config defaults', () => {
  it('gives every field a default with no file', async () => {
    const { config, warnings } = await loadConfig({ env: {} });
    expect(config).toEqual({
      dataDir: './data',
      host: '0.0.0.0',
      log: { level: 'info' },
      admin: { enabled: true, host: '0.0.0.0', port: 8080 },
      storage: 'storage-file',
      router: { queueLimit: 1000, dropPolicy: 'drop-oldest' },
      hooks: { deadlineMs: 1000, filterFailure: 'pass' },
      shutdown: { deadlineMs: 10000 },
      plugins: {},
      filters: [],
    });
    expect(warnings).toEqual([]);
  });
});

describe('config files', () => {
  it('reads YAML and keeps defaults for what it leaves out', async () => {
    const path = await file(
      'a.yaml',
      'dataDir: /var/lib/robustmq\nadmin:\n  port: 9090\nstorage: memory\nplugins:\n  protocol-mqtt:\n    options: { port: 1884 }\n  protocol-kafka:\n',
    );
    const { config, sources } = await loadConfig({ configPath: path, env: {} });
    expect(config.dataDir).toBe('/var/lib/robustmq');
    expect(config.admin).toEqual({ enabled: true, host: '0.0.0.0', port: 9090 });
    expect(config.storage).toBe('memory');
    expect(config.plugins['protocol-mqtt']).toEqual({ options: { port: 1884 } });
    expect(config.plugins['protocol-kafka']).toEqual({ options: {} });
    expect(sources.get('admin.port')).toBe(path);
  });

  it('reads JSON', async () => {
    const path = await file('b.json', JSON.stringify({ log: { level: 'debug' }, router: { queueLimit: 5 } }));
    const { config } = await loadConfig({ configPath: path, env: {} });
    expect(config.log.level).toBe('debug');
    expect(config.router).toEqual({ queueLimit: 5, dropPolicy: 'drop-oldest' });
  });

  it('treats an empty YAML file as no settings', async () => {
    const { config } = await loadConfig({ configPath: await file('empty.yml', ''), env: {} });
    expect(config.admin.port).toBe(8080);
  });

  it('refuses a missing file, bad YAML, bad JSON and a non-mapping, naming the file', async () => {
    const missing = join(dir, 'nope.yaml');
    expect(await refusal({ configPath: missing, env: {} })).toBe(
      `config: ${missing}: file not found; fix: check the --config path (or ROBUSTMQ_CONFIG), or omit it to run on defaults`,
    );
    const yaml = await file('bad.yaml', 'admin:\n  port: [1\n');
    expect(await refusal({ configPath: yaml, env: {} })).toMatch(
      new RegExp(`^config: ${yaml}: invalid YAML at line \\d+, column \\d+: .+; fix: correct the YAML syntax there$`),
    );
    const json = await file('bad.json', '{ "admin": ');
    expect(await refusal({ configPath: json, env: {} })).toMatch(
      new RegExp(`^config: ${json}: invalid JSON: .+; fix: correct the JSON syntax`),
    );
    const list = await file('list.yaml', '- a\n- b\n');
    expect(await refusal({ configPath: list, env: {} })).toBe(
      `config: ${list}: expected a mapping of settings at the top level, got a list; fix: write key: value pairs such as "storage: memory"`,
    );
  });
});

describe('config precedence', () => {
  it('layers defaults < file < start options < env', async () => {
    const path = await file('p.yaml', 'dataDir: /from-file\nhost: 10.0.0.1\nadmin: { port: 1000 }\nlog: { level: warn }\n');
    const { config, sources } = await loadConfig({
      configPath: path,
      config: { host: '10.0.0.2', admin: { port: 2000 } },
      env: { ROBUSTMQ_ADMIN_PORT: '3000' },
    });
    expect(config.dataDir).toBe('/from-file');
    expect(config.host).toBe('10.0.0.2');
    expect(config.admin.port).toBe(3000);
    expect(config.log.level).toBe('warn');
    expect(sources.get('host')).toBe('start options');
    expect(sources.get('admin.port')).toBe('ROBUSTMQ_ADMIN_PORT');
  });
});

describe('env overrides', () => {
  it('sets every top-level field from ROBUSTMQ_* with types coerced', async () => {
    const { config } = await loadConfig({
      env: {
        ROBUSTMQ_DATA_DIR: '/d',
        ROBUSTMQ_HOST: '127.0.0.1',
        ROBUSTMQ_LOG_LEVEL: 'debug',
        ROBUSTMQ_ADMIN_ENABLED: 'false',
        ROBUSTMQ_ADMIN_HOST: '::1',
        ROBUSTMQ_ADMIN_PORT: '0',
        ROBUSTMQ_STORAGE: 'memory',
        ROBUSTMQ_ROUTER_QUEUE_LIMIT: '50',
        ROBUSTMQ_ROUTER_DROP_POLICY: 'drop-newest',
        ROBUSTMQ_HOOKS_DEADLINE_MS: '250',
        ROBUSTMQ_HOOKS_FILTER_FAILURE: 'drop',
        ROBUSTMQ_SHUTDOWN_DEADLINE_MS: '500',
        ROBUSTMQ_CONFIG: '/ignored/here',
        HOME: '/root',
      },
    });
    expect(config).toMatchObject({
      dataDir: '/d',
      host: '127.0.0.1',
      log: { level: 'debug' },
      admin: { enabled: false, host: '::1', port: 0 },
      storage: 'memory',
      router: { queueLimit: 50, dropPolicy: 'drop-newest' },
      hooks: { deadlineMs: 250, filterFailure: 'drop' },
      shutdown: { deadlineMs: 500 },
    });
  });

  it('maps ROBUSTMQ_<PREFIX>_<OPTION> to plugin options (number, boolean, JSON, text) and _ENABLED', async () => {
    const loaded = await loadConfig({
      plugins,
      config: { plugins: { 'protocol-mqtt': { options: { port: 1 } } } },
      env: {
        ROBUSTMQ_MQTT_PORT: '1884',
        ROBUSTMQ_MQTT_MAX_CONNECTIONS: '10',
        ROBUSTMQ_MQTT_ALLOW_ANONYMOUS: 'false',
        ROBUSTMQ_MQTT_TLS: '{"port":8883}',
        ROBUSTMQ_MQTT_BANNER: 'hi there',
        ROBUSTMQ_AUTH_FILE_PATH: '/etc/users',
        ROBUSTMQ_AUTH_ENABLED: 'true',
        ROBUSTMQ_ADMN_PORT: '1',
      },
    });
    expect(loaded.config.plugins['protocol-mqtt']).toEqual({
      options: { port: 1884, maxConnections: 10, allowAnonymous: false, tls: { port: 8883 }, banner: 'hi there' },
    });
    // The longest prefix wins: AUTH_FILE_PATH is auth-file's `path`, not auth-x's `filePath`.
    expect(loaded.config.plugins['auth-file']).toEqual({ options: { path: '/etc/users' } });
    expect(loaded.config.plugins['auth-x']).toEqual({ enabled: true, options: {} });
    expect(loaded.env.options.get('protocol-mqtt')?.get('maxConnections')).toEqual({
      env: 'ROBUSTMQ_MQTT_MAX_CONNECTIONS',
      raw: '10',
      value: 10,
    });
    expect(loaded.warnings).toEqual(['environment: ROBUSTMQ_ADMN_PORT is not a known setting and is ignored']);
  });

  it('ignores empty values', async () => {
    const { config } = await loadConfig({ env: { ROBUSTMQ_ADMIN_PORT: '' } });
    expect(config.admin.port).toBe(8080);
  });

  it('converts names between env and option form', () => {
    expect(camelFromSnake('MAX_CONNECTIONS')).toBe('maxConnections');
    expect(snakeFromCamel('maxConnections')).toBe('MAX_CONNECTIONS');
    expect(pluginEnvVar('MQTT', 'wsPort')).toBe('ROBUSTMQ_MQTT_WS_PORT');
  });
});

describe('config errors: one line per bad field, with source and fix', () => {
  it('names env-sourced fields with their variable', async () => {
    expect(await refusal({ env: { ROBUSTMQ_ADMIN_PORT: 'abc' } })).toBe(
      'config: admin.port: expected a number between 0 and 65535, got "abc" (from ROBUSTMQ_ADMIN_PORT); fix: set admin.port (or ROBUSTMQ_ADMIN_PORT) to a number between 0 and 65535',
    );
  });

  it.each([
    ['dataDir', { dataDir: '' }, 'config: dataDir: expected a non-empty directory path, got ""'],
    ['host', { host: 5 }, 'config: host: expected a non-empty host address, got 5'],
    [
      'log.level',
      { log: { level: 'loud' } },
      'config: log.level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ],
    ['admin.enabled', { admin: { enabled: 'yes' } }, 'config: admin.enabled: expected true or false, got "yes"'],
    ['admin.host', { admin: { host: '' } }, 'config: admin.host: expected a non-empty host address, got ""'],
    ['admin.port', { admin: { port: 70000 } }, 'config: admin.port: expected a number between 0 and 65535, got 70000'],
    ['storage', { storage: '' }, 'config: storage: expected a storage plugin name from the registry or "memory", got ""'],
    [
      'router.queueLimit',
      { router: { queueLimit: 0 } },
      'config: router.queueLimit: expected a whole number of at least 1, got 0',
    ],
    [
      'router.dropPolicy',
      { router: { dropPolicy: 'random' } },
      'config: router.dropPolicy: expected drop-oldest or drop-newest, got "random"',
    ],
    [
      'hooks.deadlineMs',
      { hooks: { deadlineMs: 1.5 } },
      'config: hooks.deadlineMs: expected a whole number of milliseconds, at least 1, got 1.5',
    ],
    [
      'hooks.filterFailure',
      { hooks: { filterFailure: 'retry' } },
      'config: hooks.filterFailure: expected pass or drop, got "retry"',
    ],
    [
      'shutdown.deadlineMs',
      { shutdown: { deadlineMs: -1 } },
      'config: shutdown.deadlineMs: expected a whole number of milliseconds, at least 0, got -1',
    ],
    [
      'plugins.x.enabled',
      { plugins: { 'protocol-mqtt': { enabled: 'on' } } },
      'config: plugins.protocol-mqtt.enabled: expected true or false, got "on"',
    ],
    [
      'plugins.x.options',
      { plugins: { 'protocol-mqtt': { options: 3 } } },
      'config: plugins.protocol-mqtt.options: expected a mapping of option names to values, got 3',
    ],
  ])('%s', async (_field, config, start) => {
    const message = await refusal({ config, env: {}, plugins });
    expect(message.split('\n')).toHaveLength(1);
    expect(message.startsWith(`${start} (from start options); fix: set `)).toBe(true);
  });

  it('gives the fix with the env var for plugin fields', async () => {
    expect(await refusal({ env: { ROBUSTMQ_MQTT_ENABLED: 'maybe' }, plugins })).toBe(
      'config: plugins.protocol-mqtt.enabled: expected true or false, got "maybe" (from ROBUSTMQ_MQTT_ENABLED); fix: set plugins.protocol-mqtt.enabled (or ROBUSTMQ_MQTT_ENABLED) to true or false',
    );
  });

  it('refuses unknown keys at the top level and in sections, suggesting the likely one', async () => {
    const path = await file('typo.yaml', 'adminn:\n  port: 1\nadmin:\n  prot: 2\n');
    const lines = (await refusal({ configPath: path, env: {} })).split('\n');
    expect(lines).toContain(
      `config: adminn: unknown key (from ${path}); fix: remove it or correct the spelling (did you mean admin?); known keys here: dataDir, host, log, admin, storage, router, hooks, shutdown, plugins, filters`,
    );
    expect(lines).toContain(
      `config: admin.prot: unknown key (from ${path}); fix: remove it or correct the spelling (did you mean port?); known keys here: enabled, host, port`,
    );
    expect(lines).toHaveLength(2);
  });

  it('refuses a non-object config option', async () => {
    expect(await refusal({ config: 'storage: memory', env: {} })).toBe(
      'config: start options: config must be a plain object; fix: pass an object such as { storage: "memory" }',
    );
  });
});
