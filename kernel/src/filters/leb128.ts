// Unsigned LEB128, the integer encoding of the wasm binary format (section sizes, counts, limits).

/** Reads an unsigned LEB128 at `pos`: the value and the position after it. Throws when truncated. */
export function readU32(buf: Uint8Array, pos: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++];
    if (b === undefined) throw new Error('truncated LEB128 in wasm module');
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7;
  }
}

/** Appends `value` as unsigned LEB128 to `out`. */
export function writeU32(value: number, out: number[]): void {
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}
