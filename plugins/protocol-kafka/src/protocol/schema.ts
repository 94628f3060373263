/**
 * A small declarative description of Kafka message layouts: each field says from which version
 * it exists, whether it may be null, and whether it is a tagged field of flexible versions.
 * One generic reader and writer serve every supported version of every API.
 */
import { MalformedFrameError, type Reader } from './reader.js';
import { Writer } from './writer.js';

export type Primitive =
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'int64'
  | 'float64'
  | 'bool'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

/** Inclusive version range. */
export type Range = readonly [number, number];

export interface Field {
  name: string;
  /** A primitive, or the fields of a struct. */
  type: Primitive | readonly Field[];
  array: boolean;
  versions: Range;
  nullable?: Range;
  /** Tag number: the field travels in the tag buffer (flexible versions only). */
  tag?: number;
  default?: unknown;
}

/** Parses `"3+"`, `"0-4"`, `"5"`. */
export function range(spec: string): Range {
  if (spec.endsWith('+')) return [Number(spec.slice(0, -1)), Number.POSITIVE_INFINITY];
  const [a, b] = spec.split('-');
  return [Number(a), Number(b ?? a)];
}

const within = (v: number, r: Range | undefined) => r !== undefined && v >= r[0] && v <= r[1];

interface FieldOptions {
  nullable?: string;
  tag?: number;
  default?: unknown;
}

/** A scalar field. */
export function f(name: string, type: Primitive, versions = '0+', opts: FieldOptions = {}): Field {
  return {
    name,
    type,
    array: false,
    versions: range(versions),
    nullable: opts.nullable ? range(opts.nullable) : undefined,
    tag: opts.tag,
    default: opts.default,
  };
}

/** An array of primitives (`type` a primitive) or of structs (`type` a field list). */
export function a(name: string, type: Primitive | readonly Field[], versions = '0+', opts: FieldOptions = {}): Field {
  return { ...f(name, 'int8', versions, opts), type, array: true };
}

/** A single nested struct (used for tagged struct fields). */
export function s(name: string, fields: readonly Field[], versions = '0+', opts: FieldOptions = {}): Field {
  return { ...f(name, 'int8', versions, opts), type: fields };
}

function defaultOf(field: Field, version: number): unknown {
  if (field.default !== undefined) return field.default;
  if (field.array) return within(version, field.nullable) ? null : [];
  if (typeof field.type !== 'string') return undefined;
  switch (field.type) {
    case 'bool':
      return false;
    case 'string':
      return within(version, field.nullable) ? null : '';
    case 'bytes':
    case 'records':
      return null;
    case 'uuid':
      return ZERO_UUID;
    default:
      return 0;
  }
}

export const ZERO_UUID = Buffer.alloc(16);

// -------------------------------------------------------------------------------------------
// Reading
// -------------------------------------------------------------------------------------------

function readPrimitive(r: Reader, type: Primitive, flexible: boolean, nullable: boolean, name: string): unknown {
  switch (type) {
    case 'int8':
      return r.int8();
    case 'int16':
      return r.int16();
    case 'uint16':
      return r.uint16();
    case 'int32':
      return r.int32();
    case 'int64':
      return r.int64();
    case 'float64':
      return r.float64();
    case 'bool':
      return r.bool();
    case 'uuid':
      return r.raw(16);
    case 'string': {
      const v = flexible ? r.compactNullableString() : r.nullableString();
      if (v === null && !nullable) throw new MalformedFrameError(`null for non-nullable string ${name}`);
      return v;
    }
    case 'bytes':
    case 'records': {
      const v = flexible ? r.compactNullableBytes() : r.nullableBytes();
      if (v === null && !nullable) throw new MalformedFrameError(`null for non-nullable bytes ${name}`);
      return v;
    }
  }
}

function readValue(r: Reader, field: Field, version: number, flexible: boolean): unknown {
  const nullable = within(version, field.nullable);
  if (field.array) {
    const n = flexible ? r.uvarint() - 1 : r.int32();
    if (n < 0) {
      if (!nullable) throw new MalformedFrameError(`null for non-nullable array ${field.name}`);
      return null;
    }
    // Each element takes at least one byte: refuse absurd counts before allocating.
    if (n > r.remaining) throw new MalformedFrameError(`array ${field.name} claims ${n} elements, ${r.remaining} bytes left`);
    const out = new Array(n);
    for (let i = 0; i < n; i++) {
      out[i] =
        typeof field.type === 'string'
          ? readPrimitive(r, field.type, flexible, false, field.name)
          : readStruct(r, field.type, version, flexible);
    }
    return out;
  }
  if (typeof field.type !== 'string') return readStruct(r, field.type, version, flexible);
  return readPrimitive(r, field.type, flexible, nullable, field.name);
}

/** Reads a struct (or a whole message body) at `version`. */
export function readStruct(r: Reader, fields: readonly Field[], version: number, flexible: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    if (field.tag !== undefined) {
      out[field.name] = defaultOf(field, version);
      continue;
    }
    out[field.name] = within(version, field.versions) ? readValue(r, field, version, flexible) : defaultOf(field, version);
  }
  if (flexible) readTaggedFields(r, fields, version, out);
  return out;
}

/** Reads a tag buffer, decoding known tags into `out` and skipping unknown ones. */
export function readTaggedFields(
  r: Reader,
  fields: readonly Field[] | undefined,
  version: number,
  out?: Record<string, unknown>,
): void {
  const count = r.uvarint();
  for (let i = 0; i < count; i++) {
    const tag = r.uvarint();
    const size = r.uvarint();
    const field = fields?.find((x) => x.tag === tag && within(version, x.versions));
    if (!field || !out) {
      r.skip(size);
      continue;
    }
    const end = r.pos + size;
    out[field.name] = readValue(r, field, version, true);
    if (r.pos !== end) throw new MalformedFrameError(`tagged field ${field.name} size mismatch`);
  }
}

// -------------------------------------------------------------------------------------------
// Writing
// -------------------------------------------------------------------------------------------

function writePrimitive(w: Writer, type: Primitive, value: unknown, flexible: boolean): void {
  switch (type) {
    case 'int8':
      w.int8((value as number) ?? 0);
      return;
    case 'int16':
      w.int16((value as number) ?? 0);
      return;
    case 'uint16':
      w.uint16((value as number) ?? 0);
      return;
    case 'int32':
      w.int32((value as number) ?? 0);
      return;
    case 'int64':
      w.int64((value as number) ?? 0);
      return;
    case 'float64':
      w.float64((value as number) ?? 0);
      return;
    case 'bool':
      w.bool(!!value);
      return;
    case 'uuid':
      w.bytes((value as Buffer | undefined) ?? ZERO_UUID);
      return;
    case 'string':
      if (flexible) w.compactNullableString(value as string | null);
      else w.nullableString(value as string | null);
      return;
    case 'bytes':
    case 'records':
      writeBytesLike(w, value as Buffer | Buffer[] | null, flexible);
      return;
  }
}

/** Bytes may be given as several chunks (fetch responses concatenate stored batches). */
function writeBytesLike(w: Writer, value: Buffer | Buffer[] | null | undefined, flexible: boolean): void {
  if (value === null || value === undefined) {
    if (flexible) w.uvarint(0);
    else w.int32(-1);
    return;
  }
  const parts = Array.isArray(value) ? value : [value];
  let len = 0;
  for (const p of parts) len += p.length;
  if (flexible) w.uvarint(len + 1);
  else w.int32(len);
  for (const p of parts) w.bytes(p);
}

function writeValue(w: Writer, field: Field, value: unknown, version: number, flexible: boolean): void {
  if (field.array) {
    const list = value as unknown[] | null | undefined;
    if (list === null && within(version, field.nullable)) {
      if (flexible) w.uvarint(0);
      else w.int32(-1);
      return;
    }
    const items = list ?? [];
    if (flexible) w.uvarint(items.length + 1);
    else w.int32(items.length);
    for (const item of items) {
      if (typeof field.type === 'string') writePrimitive(w, field.type, item, flexible);
      else writeStruct(w, field.type, item as Record<string, unknown>, version, flexible);
    }
    return;
  }
  if (typeof field.type !== 'string') {
    writeStruct(w, field.type, (value ?? {}) as Record<string, unknown>, version, flexible);
    return;
  }
  const v = value === undefined ? defaultOf(field, version) : value;
  writePrimitive(w, field.type, v, flexible);
}

/** Writes a struct (or a whole message body) at `version`; missing fields take their defaults. */
export function writeStruct(
  w: Writer,
  fields: readonly Field[],
  obj: Record<string, unknown>,
  version: number,
  flexible: boolean,
): void {
  let tagged: Field[] | undefined;
  for (const field of fields) {
    if (!within(version, field.versions)) continue;
    if (field.tag !== undefined) {
      if (flexible && obj[field.name] !== undefined) {
        tagged ??= [];
        tagged.push(field);
      }
      continue;
    }
    writeValue(w, field, obj[field.name], version, flexible);
  }
  if (!flexible) return;
  if (!tagged) {
    w.uvarint(0);
    return;
  }
  tagged.sort((x, y) => (x.tag as number) - (y.tag as number));
  w.uvarint(tagged.length);
  for (const field of tagged) {
    const inner = new Writer(32);
    writeValue(inner, field, obj[field.name], version, true);
    const bytes = inner.toBuffer();
    w.uvarint(field.tag as number)
      .uvarint(bytes.length)
      .bytes(bytes);
  }
}
