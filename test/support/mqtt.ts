/**
 * Helpers shared by tests that drive a broker with mqtt.js across plugins (restart tests of the
 * storage plugins): a connect that records what arrives, and a polling wait.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

export interface RecordingClient {
  c: MqttClient;
  sessionPresent: boolean;
  got: Received[];
}

/** Connects to 127.0.0.1:port, records every message, and adds the client to `clients` for cleanup. */
export async function connectRecording(port: number, opts: IClientOptions, clients: MqttClient[]): Promise<RecordingClient> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  clients.push(c);
  const got: Received[] = [];
  c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }));
  const sessionPresent = await new Promise<boolean>((resolve, reject) => {
    c.once('connect', (ack) => resolve(ack.sessionPresent));
    c.once('error', reject);
  });
  return { c, sessionPresent, got };
}

/** Polls `cond` every 10 ms until it holds; fails naming `what` after `ms`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
