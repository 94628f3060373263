// Shared helpers of the filter tests.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMessage, type Logger, type Message } from '@robustmq/sdk';
import type { Built } from './build.js';

export interface LogLine {
  level: string;
  obj: unknown;
  msg?: string;
}

/** A Logger that keeps every line, for assertions on what the broker logs. */
export function captureLogger(lines: LogLine[] = []): Logger & { lines: LogLine[] } {
  const at =
    (level: string) =>
    (obj: unknown, msg?: string): void => {
      lines.push({ level, obj, msg: msg ?? (typeof obj === 'string' ? obj : undefined) });
    };
  const logger = {
    lines,
    level: 'trace',
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: () => logger,
  };
  return logger;
}

/** A message as the MQTT plugin would produce it. */
export function msg(topic: string, payload: string | object, extra: Partial<Message> = {}): Message {
  return createMessage({
    topic,
    payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    origin: { protocol: 'mqtt', clientId: 'client-1' },
    ...extra,
  });
}

/** Writes a registry.json listing the given builds as filters. */
export async function writeRegistry(dir: string, builds: Built[], override: Record<string, string> = {}): Promise<string> {
  const path = join(dir, 'registry.json');
  const plugins = builds.map((b) => ({
    name: b.name,
    kind: 'filter',
    version: '0.1.0',
    kernelApi: '^1',
    wasm: b.path,
    sha256: override[b.name] ?? b.sha256,
  }));
  await writeFile(path, JSON.stringify({ plugins }, null, 2));
  return path;
}
