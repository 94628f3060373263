/** kafkajs codecs for snappy, lz4 and zstd built on the same libraries the broker uses. */
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import lz4 from 'lz4-napi';
import snappy from 'snappy';
import { lz4Decompress, snappyDecompress, zstdDecompressBuffer } from '../src/compression.js';

/**
 * A valid zstd frame holding `data` in raw (stored) blocks: enough to exercise the broker's zstd
 * path without a native zstd compressor.
 */
export function zstdStore(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(9);
  head.writeUInt32LE(0xfd2fb528, 0);
  head[4] = 0xa0; // 4-byte content size, single segment
  head.writeUInt32LE(data.length, 5);
  parts.push(head);
  const MAX = 128 * 1024;
  let pos = 0;
  do {
    const n = Math.min(MAX, data.length - pos);
    const last = pos + n >= data.length ? 1 : 0;
    const bh = Buffer.alloc(3);
    bh.writeUIntLE((n << 3) | last, 0, 3);
    parts.push(bh, data.subarray(pos, pos + n));
    pos += n;
  } while (pos < data.length);
  return Buffer.concat(parts);
}

type Encoder = { buffer: Buffer };

export function registerKafkajsCodecs(): void {
  const codecs = CompressionCodecs as unknown as Record<number, () => unknown>;
  codecs[CompressionTypes.Snappy] = () => ({
    compress: async (e: Encoder) => snappy.compressSync(e.buffer),
    decompress: async (b: Buffer) => snappyDecompress(b),
  });
  codecs[CompressionTypes.LZ4] = () => ({
    compress: async (e: Encoder) => lz4.compressFrameSync(e.buffer),
    decompress: async (b: Buffer) => lz4Decompress(b),
  });
  codecs[CompressionTypes.ZSTD] = () => ({
    compress: async (e: Encoder) => zstdStore(e.buffer),
    decompress: async (b: Buffer) => zstdDecompressBuffer(b),
  });
}
