/** Request framing: a 4-byte size then the request header and body. */
import { API_BY_KEY, type ApiSpec } from './apis.js';
import { ApiKey } from './api-keys.js';
import { MalformedFrameError, Reader } from './reader.js';
import { readStruct, readTaggedFields, writeStruct } from './schema.js';
import { Writer } from './writer.js';

/** A parsed request header with the reader positioned at the body. */
export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** Undefined when the key is unknown. */
  spec: ApiSpec | undefined;
  /** The version is outside the supported range. */
  unsupported: boolean;
  flexible: boolean;
}

/**
 * Splits complete frames off the front of `buf`. Returns the frames and the unconsumed tail.
 * Throws {@link MalformedFrameError} for a negative or oversized length.
 */
export function splitFrames(buf: Buffer, maxFrameBytes: number): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let pos = 0;
  while (buf.length - pos >= 4) {
    const size = buf.readInt32BE(pos);
    if (size < 0 || size > maxFrameBytes) throw new MalformedFrameError(`frame size ${size} outside 0..${maxFrameBytes}`);
    if (buf.length - pos - 4 < size) break;
    frames.push(buf.subarray(pos + 4, pos + 4 + size));
    pos += 4 + size;
  }
  return { frames, rest: pos === 0 ? buf : buf.subarray(pos) };
}

/** Reads the request header (v1, or v2 with tagged fields for flexible versions). */
export function readRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = r.nullableString();
  const spec = API_BY_KEY.get(apiKey);
  const unsupported = !spec || apiVersion < spec.minVersion || apiVersion > spec.maxVersion;
  const flexible = !!spec && apiVersion >= spec.flexibleFrom;
  // An unsupported ApiVersions request still has a header we can answer (clients probe with their newest version).
  if (flexible && !unsupported) readTaggedFields(r, undefined, apiVersion);
  return { apiKey, apiVersion, correlationId, clientId, spec, unsupported, flexible };
}

/** Decodes a request body at the header's version. */
export function readRequestBody(r: Reader, header: RequestHeader): Record<string, unknown> {
  if (!header.spec) throw new MalformedFrameError(`unknown api key ${header.apiKey}`);
  return readStruct(r, header.spec.request, header.apiVersion, header.flexible);
}

/**
 * Encodes a response: size, correlation id, (tagged fields for flexible versions except
 * ApiVersions, whose response header is always v0) and body. Returns the chunks to write.
 */
export function encodeResponse(
  header: Pick<RequestHeader, 'apiKey' | 'apiVersion' | 'correlationId'>,
  spec: ApiSpec,
  body: Record<string, unknown>,
  version = header.apiVersion,
): Buffer[] {
  const flexible = version >= spec.flexibleFrom;
  const w = new Writer(512);
  writeStruct(w, spec.response, body, version, flexible);
  const headerTagged = flexible && header.apiKey !== ApiKey.ApiVersions;
  const head = Buffer.allocUnsafe(headerTagged ? 9 : 8);
  head.writeInt32BE(w.length + head.length - 4, 0);
  head.writeInt32BE(header.correlationId, 4);
  if (headerTagged) head[8] = 0;
  return [head, ...w.toChunks()];
}

export { MalformedFrameError, Reader };
