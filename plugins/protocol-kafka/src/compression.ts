/**
 * Registers snappy, lz4 and zstd decompressors with the sdk's RecordBatch codec (gzip is built
 * in). Produce stores compressed batches as received; decompression is needed where records are
 * read (MQTT bridge, timestamp lookups in stores).
 */
import { CompressionCodec, registerDecompressor } from '@robustmq/sdk';
import { decompress as zstdDecompress } from 'fzstd';
import lz4 from 'lz4-napi';
import snappy from 'snappy';

/** Java clients frame snappy data the way xerial's SnappyOutputStream does. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

export function snappyDecompress(buf: Buffer): Buffer {
  if (buf.length >= 16 && buf.subarray(0, 8).equals(XERIAL_MAGIC)) {
    const parts: Buffer[] = [];
    let pos = 16; // magic, version int32, compatible version int32
    while (pos + 4 <= buf.length) {
      const len = buf.readInt32BE(pos);
      pos += 4;
      if (len < 0 || pos + len > buf.length) throw new Error('truncated xerial snappy block');
      parts.push(snappy.uncompressSync(buf.subarray(pos, pos + len)) as Buffer);
      pos += len;
    }
    return Buffer.concat(parts);
  }
  return snappy.uncompressSync(buf) as Buffer;
}

export function lz4Decompress(buf: Buffer): Buffer {
  return lz4.decompressFrameSync(buf);
}

export function zstdDecompressBuffer(buf: Buffer): Buffer {
  const out = zstdDecompress(buf);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

let registered = false;

/** Idempotent: registers the three decompressors once per process. */
export function registerCodecs(): void {
  if (registered) return;
  registered = true;
  registerDecompressor(CompressionCodec.snappy, snappyDecompress);
  registerDecompressor(CompressionCodec.lz4, lz4Decompress);
  registerDecompressor(CompressionCodec.zstd, zstdDecompressBuffer);
}
