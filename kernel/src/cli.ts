import { Command } from 'commander';
import YAML from 'yaml';
import type { Broker } from './broker.js';
import { startBroker } from './broker.js';
import { loadConfig } from './config/load.js';
import { isStartupError } from './loader/errors.js';
import { isEnabledByConfig } from './loader/plan.js';
import { prepare } from './loader/prepare.js';
import { isBuilt, readRegistry } from './loader/registry.js';
import { KERNEL_VERSION } from './version.js';

interface SourceOptions {
  config?: string;
  registry?: string;
}

/** Writes a refusal (one line per problem, no stack) or an unexpected error (with its stack) and sets exit code 1. */
function fail(err: unknown): void {
  if (isStartupError(err)) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`robustmq: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}

function withSources(cmd: Command): Command {
  return cmd
    .option('-c, --config <path>', 'YAML or JSON config file (env ROBUSTMQ_CONFIG)', process.env.ROBUSTMQ_CONFIG || undefined)
    .option(
      '--registry <path>',
      'plugin registry file (env ROBUSTMQ_REGISTRY; default: the repository registry.json)',
      process.env.ROBUSTMQ_REGISTRY || undefined,
    );
}

/** `robustmq start`: runs until SIGINT/SIGTERM, then shuts down gracefully; a second signal forces exit. */
async function start(opts: SourceOptions): Promise<void> {
  let broker: Broker | undefined;
  let signalled: NodeJS.Signals | undefined;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) {
      broker?.logger.warn({ signal }, `second ${signal}: forcing exit`);
      process.exit(1);
    }
    signalled = signal;
    if (!broker) return; // still starting: shut down as soon as it is up
    broker.logger.info({ signal }, `${signal} received: shutting down`);
    broker.stop().then(
      () => process.exit(0),
      (err) => {
        broker?.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  // Signal listeners do not keep Node alive: without listeners (memory storage, no admin, no
  // protocol) the broker would exit at once, so hold the event loop open until a signal ends it.
  setInterval(() => {}, 1 << 30);
  try {
    broker = await startBroker({ configPath: opts.config, registryPath: opts.registry });
  } catch (err) {
    fail(err);
    process.exit(1);
  }
  if (signalled) {
    const signal = signalled;
    signalled = undefined;
    shutdown(signal);
  }
}

/** `robustmq config check`: the effective configuration as YAML (plugin options with defaults), or the errors. */
async function configCheck(opts: SourceOptions): Promise<void> {
  try {
    const { config, registry, plan, loaded } = await prepare({ configPath: opts.config, registryPath: opts.registry });
    for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
    const running = new Map([...(plan.storage ? [plan.storage] : []), ...plan.others].map((p) => [p.entry.name, p.options]));
    const plugins: Record<string, unknown> = {};
    for (const entry of registry.entries) {
      const enabled = running.has(entry.name);
      plugins[entry.name] = enabled
        ? { enabled, options: running.get(entry.name) }
        : {
            enabled,
            ...(config.plugins[entry.name]?.options && Object.keys(config.plugins[entry.name].options).length
              ? { options: config.plugins[entry.name].options }
              : {}),
          };
    }
    const source = loaded.configPath ?? 'no file (defaults)';
    process.stdout.write(`# effective configuration: ${source}, registry ${registry.path}\n`);
    process.stdout.write(YAML.stringify({ ...config, plugins }));
  } catch (err) {
    fail(err);
  }
}

/** `robustmq plugins list`: the registry as a table with what the config enables and what is built. */
async function pluginsList(opts: SourceOptions): Promise<void> {
  try {
    const registry = await readRegistry(opts.registry);
    const { config } = await loadConfig({ configPath: opts.config, plugins: registry.entries });
    const rows = [
      ['NAME', 'KIND', 'VERSION', 'KERNEL-API', 'ENABLED', 'BUILT'],
      ...registry.entries.map((e) => [
        e.name,
        e.kind,
        e.version,
        e.kernelApi,
        isEnabledByConfig(e, config) ? 'yes' : 'no',
        isBuilt(registry, e) ? 'yes' : 'no',
      ]),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows)
      process.stdout.write(
        `${r
          .map((cell, i) => cell.padEnd(widths[i]))
          .join('  ')
          .trimEnd()}\n`,
      );
    if (config.storage === 'memory') process.stdout.write('storage: memory (built-in)\n');
  } catch (err) {
    fail(err);
  }
}

/** Builds the `robustmq` command line. */
export function buildProgram(): Command {
  const program = new Command('robustmq')
    .description('RobustMQ: one message kernel, many protocols')
    .version(KERNEL_VERSION)
    .showHelpAfterError();
  withSources(program.command('start').description('start the broker (SIGINT/SIGTERM stop it gracefully)')).action(start);
  const plugins = program.command('plugins').description('inspect plugins');
  withSources(
    plugins.command('list').description('list registry plugins, whether the config enables them and whether they are built'),
  ).action(pluginsList);
  const config = program.command('config').description('inspect configuration');
  withSources(config.command('check').description('validate the configuration and print it with defaults applied')).action(
    configCheck,
  );
  return program;
}

/** Runs the CLI with `argv` as given to node (`[node, script, ...args]`). */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  await buildProgram().parseAsync([...argv]);
}
