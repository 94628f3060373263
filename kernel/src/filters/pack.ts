import type { WireMessage } from './guest.mjs';

/**
 * Copies every payload, key and bytes header of a batch into one ArrayBuffer that is then
 * transferred to the worker, not cloned. Message buffers are usually views into larger ones
 * (socket reads, Buffer's pool): structured clone would copy each whole backing store.
 */
export function packBatch(batch: WireMessage[]): { batch: WireMessage[]; transfer: ArrayBuffer[] } {
  let total = 0;
  for (const m of batch) {
    total += m.payload.byteLength + (m.key?.byteLength ?? 0);
    for (const k in m.headers) {
      const v = m.headers[k];
      if (typeof v !== 'string') total += v.byteLength;
    }
  }
  const buf = new ArrayBuffer(total);
  const bytes = new Uint8Array(buf);
  let pos = 0;
  const view = (src: Uint8Array): Uint8Array => {
    bytes.set(src, pos);
    const out = new Uint8Array(buf, pos, src.byteLength);
    pos += src.byteLength;
    return out;
  };
  const out = batch.map((m) => {
    let headers = m.headers;
    for (const k in m.headers) {
      if (typeof m.headers[k] !== 'string') {
        headers = {};
        for (const [hk, hv] of Object.entries(m.headers)) headers[hk] = typeof hv === 'string' ? hv : view(hv);
        break;
      }
    }
    return { ...m, payload: view(m.payload), key: m.key ? view(m.key) : undefined, headers };
  });
  return { batch: out, transfer: [buf] };
}
