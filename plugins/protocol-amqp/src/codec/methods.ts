/**
 * The AMQP 0-9-1 methods: a field list per (class, method) taken from the spec, with one generic
 * encoder/decoder. Consecutive `bit` fields share an octet, as the spec packs them.
 */
import { type FieldTable, Reader, type Writer } from './field-table.js';

type FieldType = 'octet' | 'short' | 'long' | 'longlong' | 'shortstr' | 'longstr' | 'bit' | 'table' | 'timestamp';

interface MethodSpec {
  classId: number;
  methodId: number;
  name: string;
  fields: Array<[string, FieldType]>;
  /** Basic methods that are followed by a content header and body. */
  content?: boolean;
}

const S = 'shortstr';
const closeFields: Array<[string, FieldType]> = [
  ['replyCode', 'short'],
  ['replyText', S],
  ['classId', 'short'],
  ['methodId', 'short'],
];

const specs: MethodSpec[] = [
  // connection
  {
    classId: 10,
    methodId: 10,
    name: 'connection.start',
    fields: [
      ['versionMajor', 'octet'],
      ['versionMinor', 'octet'],
      ['serverProperties', 'table'],
      ['mechanisms', 'longstr'],
      ['locales', 'longstr'],
    ],
  },
  {
    classId: 10,
    methodId: 11,
    name: 'connection.start-ok',
    fields: [
      ['clientProperties', 'table'],
      ['mechanism', S],
      ['response', 'longstr'],
      ['locale', S],
    ],
  },
  { classId: 10, methodId: 20, name: 'connection.secure', fields: [['challenge', 'longstr']] },
  { classId: 10, methodId: 21, name: 'connection.secure-ok', fields: [['response', 'longstr']] },
  {
    classId: 10,
    methodId: 30,
    name: 'connection.tune',
    fields: [
      ['channelMax', 'short'],
      ['frameMax', 'long'],
      ['heartbeat', 'short'],
    ],
  },
  {
    classId: 10,
    methodId: 31,
    name: 'connection.tune-ok',
    fields: [
      ['channelMax', 'short'],
      ['frameMax', 'long'],
      ['heartbeat', 'short'],
    ],
  },
  {
    classId: 10,
    methodId: 40,
    name: 'connection.open',
    fields: [
      ['virtualHost', S],
      ['reserved1', S],
      ['reserved2', 'bit'],
    ],
  },
  { classId: 10, methodId: 41, name: 'connection.open-ok', fields: [['reserved1', S]] },
  { classId: 10, methodId: 50, name: 'connection.close', fields: closeFields },
  { classId: 10, methodId: 51, name: 'connection.close-ok', fields: [] },
  { classId: 10, methodId: 60, name: 'connection.blocked', fields: [['reason', S]] },
  { classId: 10, methodId: 61, name: 'connection.unblocked', fields: [] },
  {
    classId: 10,
    methodId: 70,
    name: 'connection.update-secret',
    fields: [
      ['newSecret', 'longstr'],
      ['reason', S],
    ],
  },
  { classId: 10, methodId: 71, name: 'connection.update-secret-ok', fields: [] },
  // channel
  { classId: 20, methodId: 10, name: 'channel.open', fields: [['reserved1', S]] },
  { classId: 20, methodId: 11, name: 'channel.open-ok', fields: [['reserved1', 'longstr']] },
  { classId: 20, methodId: 20, name: 'channel.flow', fields: [['active', 'bit']] },
  { classId: 20, methodId: 21, name: 'channel.flow-ok', fields: [['active', 'bit']] },
  { classId: 20, methodId: 40, name: 'channel.close', fields: closeFields },
  { classId: 20, methodId: 41, name: 'channel.close-ok', fields: [] },
  // exchange
  {
    classId: 40,
    methodId: 10,
    name: 'exchange.declare',
    fields: [
      ['reserved1', 'short'],
      ['exchange', S],
      ['type', S],
      ['passive', 'bit'],
      ['durable', 'bit'],
      ['autoDelete', 'bit'],
      ['internal', 'bit'],
      ['noWait', 'bit'],
      ['arguments', 'table'],
    ],
  },
  { classId: 40, methodId: 11, name: 'exchange.declare-ok', fields: [] },
  {
    classId: 40,
    methodId: 20,
    name: 'exchange.delete',
    fields: [
      ['reserved1', 'short'],
      ['exchange', S],
      ['ifUnused', 'bit'],
      ['noWait', 'bit'],
    ],
  },
  { classId: 40, methodId: 21, name: 'exchange.delete-ok', fields: [] },
  {
    classId: 40,
    methodId: 30,
    name: 'exchange.bind',
    fields: [
      ['reserved1', 'short'],
      ['destination', S],
      ['source', S],
      ['routingKey', S],
      ['noWait', 'bit'],
      ['arguments', 'table'],
    ],
  },
  { classId: 40, methodId: 31, name: 'exchange.bind-ok', fields: [] },
  {
    classId: 40,
    methodId: 40,
    name: 'exchange.unbind',
    fields: [
      ['reserved1', 'short'],
      ['destination', S],
      ['source', S],
      ['routingKey', S],
      ['noWait', 'bit'],
      ['arguments', 'table'],
    ],
  },
  { classId: 40, methodId: 51, name: 'exchange.unbind-ok', fields: [] },
  // queue
  {
    classId: 50,
    methodId: 10,
    name: 'queue.declare',
    fields: [
      ['reserved1', 'short'],
      ['queue', S],
      ['passive', 'bit'],
      ['durable', 'bit'],
      ['exclusive', 'bit'],
      ['autoDelete', 'bit'],
      ['noWait', 'bit'],
      ['arguments', 'table'],
    ],
  },
  {
    classId: 50,
    methodId: 11,
    name: 'queue.declare-ok',
    fields: [
      ['queue', S],
      ['messageCount', 'long'],
      ['consumerCount', 'long'],
    ],
  },
  {
    classId: 50,
    methodId: 20,
    name: 'queue.bind',
    fields: [
      ['reserved1', 'short'],
      ['queue', S],
      ['exchange', S],
      ['routingKey', S],
      ['noWait', 'bit'],
      ['arguments', 'table'],
    ],
  },
  { classId: 50, methodId: 21, name: 'queue.bind-ok', fields: [] },
  {
    classId: 50,
    methodId: 30,
    name: 'queue.purge',
    fields: [
      ['reserved1', 'short'],
      ['queue', S],
      ['noWait', 'bit'],
    ],
  },
  { classId: 50, methodId: 31, name: 'queue.purge-ok', fields: [['messageCount', 'long']] },
  {
    classId: 50,
    methodId: 40,
    name: 'queue.delete',
    fields: [
      ['reserved1', 'short'],
      ['queue', S],
      ['ifUnused', 'bit'],
      ['ifEmpty', 'bit'],
      ['noWait', 'bit'],
    ],
  },
  { classId: 50, methodId: 41, name: 'queue.delete-ok', fields: [['messageCount', 'long']] },
  {
    classId: 50,
    methodId: 50,
    name: 'queue.unbind',
    fields: [
      ['reserved1', 'short'],
      ['queue', S],
      ['exchange', S],
      ['routingKey', S],
      ['arguments', 'table'],
    ],
  },
  { classId: 50, methodId: 51, name: 'queue.unbind-ok', fields: [] },
  // basic
  {
    classId: 60,
    methodId: 10,
    name: 'basic.qos',
    fields: [
      ['prefetchSize', 'long'],
      ['prefetchCount', 'short'],
      ['global', 'bit'],
    ],
  },
  { classId: 60, methodId: 11, name: 'basic.qos-ok', fields: [] },
  {
    classId: 60,
    methodId: 20,
    name: 'basic.consume',
    fields: [
      ['reserved1', 'short'],
      ['queue', S],
      ['consumerTag', S],
      ['noLocal', 'bit'],
      ['noAck', 'bit'],
      ['exclusive', 'bit'],
      ['noWait', 'bit'],
      ['arguments', 'table'],
    ],
  },
  { classId: 60, methodId: 21, name: 'basic.consume-ok', fields: [['consumerTag', S]] },
  {
    classId: 60,
    methodId: 30,
    name: 'basic.cancel',
    fields: [
      ['consumerTag', S],
      ['noWait', 'bit'],
    ],
  },
  { classId: 60, methodId: 31, name: 'basic.cancel-ok', fields: [['consumerTag', S]] },
  {
    classId: 60,
    methodId: 40,
    name: 'basic.publish',
    content: true,
    fields: [
      ['reserved1', 'short'],
      ['exchange', S],
      ['routingKey', S],
      ['mandatory', 'bit'],
      ['immediate', 'bit'],
    ],
  },
  {
    classId: 60,
    methodId: 50,
    name: 'basic.return',
    content: true,
    fields: [
      ['replyCode', 'short'],
      ['replyText', S],
      ['exchange', S],
      ['routingKey', S],
    ],
  },
  {
    classId: 60,
    methodId: 60,
    name: 'basic.deliver',
    content: true,
    fields: [
      ['consumerTag', S],
      ['deliveryTag', 'longlong'],
      ['redelivered', 'bit'],
      ['exchange', S],
      ['routingKey', S],
    ],
  },
  {
    classId: 60,
    methodId: 70,
    name: 'basic.get',
    fields: [
      ['reserved1', 'short'],
      ['queue', S],
      ['noAck', 'bit'],
    ],
  },
  {
    classId: 60,
    methodId: 71,
    name: 'basic.get-ok',
    content: true,
    fields: [
      ['deliveryTag', 'longlong'],
      ['redelivered', 'bit'],
      ['exchange', S],
      ['routingKey', S],
      ['messageCount', 'long'],
    ],
  },
  { classId: 60, methodId: 72, name: 'basic.get-empty', fields: [['reserved1', S]] },
  {
    classId: 60,
    methodId: 80,
    name: 'basic.ack',
    fields: [
      ['deliveryTag', 'longlong'],
      ['multiple', 'bit'],
    ],
  },
  {
    classId: 60,
    methodId: 90,
    name: 'basic.reject',
    fields: [
      ['deliveryTag', 'longlong'],
      ['requeue', 'bit'],
    ],
  },
  { classId: 60, methodId: 100, name: 'basic.recover-async', fields: [['requeue', 'bit']] },
  { classId: 60, methodId: 110, name: 'basic.recover', fields: [['requeue', 'bit']] },
  { classId: 60, methodId: 111, name: 'basic.recover-ok', fields: [] },
  {
    classId: 60,
    methodId: 120,
    name: 'basic.nack',
    fields: [
      ['deliveryTag', 'longlong'],
      ['multiple', 'bit'],
      ['requeue', 'bit'],
    ],
  },
  // confirm
  { classId: 85, methodId: 10, name: 'confirm.select', fields: [['noWait', 'bit']] },
  { classId: 85, methodId: 11, name: 'confirm.select-ok', fields: [] },
  // tx
  { classId: 90, methodId: 10, name: 'tx.select', fields: [] },
  { classId: 90, methodId: 11, name: 'tx.select-ok', fields: [] },
  { classId: 90, methodId: 20, name: 'tx.commit', fields: [] },
  { classId: 90, methodId: 21, name: 'tx.commit-ok', fields: [] },
  { classId: 90, methodId: 30, name: 'tx.rollback', fields: [] },
  { classId: 90, methodId: 31, name: 'tx.rollback-ok', fields: [] },
];

const byId = new Map<number, MethodSpec>();
const byName = new Map<string, MethodSpec>();
for (const s of specs) {
  byId.set((s.classId << 16) | s.methodId, s);
  byName.set(s.name, s);
}

/** Every method name this codec knows, for the README and tests. */
export const METHOD_NAMES: readonly string[] = specs.map((s) => s.name);

/** A decoded method: its name, ids and fields keyed by camel-cased spec name. */
export interface Method {
  name: string;
  classId: number;
  methodId: number;
  // biome-ignore lint/suspicious/noExplicitAny: field values are typed per method by the handlers
  args: Record<string, any>;
  /** True when a content header and body follow. */
  content: boolean;
}

/** Thrown for a method id the spec does not define (540 NOT_IMPLEMENTED / 503). */
export class UnknownMethodError extends Error {
  constructor(
    readonly classId: number,
    readonly methodId: number,
  ) {
    super(`unknown method ${classId}.${methodId}`);
  }
}

/** Decodes a method frame payload. Throws DecodeError or UnknownMethodError. */
export function decodeMethod(payload: Buffer): Method {
  const r = new Reader(payload);
  const classId = r.short();
  const methodId = r.short();
  const spec = byId.get((classId << 16) | methodId);
  if (!spec) throw new UnknownMethodError(classId, methodId);
  // biome-ignore lint/suspicious/noExplicitAny: see Method.args
  const args: Record<string, any> = {};
  let bitByte = 0;
  let bitIndex = 8;
  for (const [name, type] of spec.fields) {
    if (type === 'bit') {
      if (bitIndex === 8) {
        bitByte = r.octet();
        bitIndex = 0;
      }
      args[name] = (bitByte & (1 << bitIndex)) !== 0;
      bitIndex++;
      continue;
    }
    bitIndex = 8;
    args[name] = readField(r, type);
  }
  return { name: spec.name, classId, methodId, args, content: spec.content === true };
}

function readField(r: Reader, type: FieldType): unknown {
  switch (type) {
    case 'octet':
      return r.octet();
    case 'short':
      return r.short();
    case 'long':
      return r.long();
    case 'longlong':
    case 'timestamp':
      return r.longlong();
    case 'shortstr':
      return r.shortstr();
    case 'longstr':
      return r.longstrBytes();
    case 'table':
      return r.table();
    default:
      throw new Error(`bad field type ${type}`);
  }
}

/** Writes a method payload (class id, method id, fields) into `w`. */
export function writeMethod(w: Writer, name: string, args: Record<string, unknown> = {}): void {
  const spec = byName.get(name);
  if (!spec) throw new Error(`unknown method ${name}`);
  w.short(spec.classId);
  w.short(spec.methodId);
  let bitByte = 0;
  let bitIndex = -1;
  const flushBits = () => {
    if (bitIndex >= 0) w.octet(bitByte);
    bitByte = 0;
    bitIndex = -1;
  };
  for (const [field, type] of spec.fields) {
    const v = args[field];
    if (type === 'bit') {
      if (bitIndex === 7) flushBits();
      bitIndex++;
      if (v) bitByte |= 1 << bitIndex;
      continue;
    }
    flushBits();
    switch (type) {
      case 'octet':
        w.octet((v as number) ?? 0);
        break;
      case 'short':
        w.short((v as number) ?? 0);
        break;
      case 'long':
        w.long((v as number) ?? 0);
        break;
      case 'longlong':
      case 'timestamp':
        w.longlong((v as number) ?? 0);
        break;
      case 'shortstr':
        w.shortstr((v as string) ?? '');
        break;
      case 'longstr':
        w.longstr((v as string | Buffer) ?? '');
        break;
      case 'table':
        w.table(v as FieldTable | Buffer | undefined);
        break;
    }
  }
  flushBits();
}

/** The (class, method) ids of a method name. */
export function methodIds(name: string): { classId: number; methodId: number } {
  const spec = byName.get(name);
  if (!spec) throw new Error(`unknown method ${name}`);
  return { classId: spec.classId, methodId: spec.methodId };
}
