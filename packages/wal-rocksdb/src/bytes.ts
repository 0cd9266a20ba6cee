/** Appends big-endian fields to a growing buffer (for the small records: hard state, base, marker). */
export class ByteWriter {
  private buffer = Buffer.allocUnsafe(64);
  private length = 0;

  u8(value: number): this {
    this.reserve(1).writeUInt8(value, this.length);
    this.length += 1;
    return this;
  }

  u16(value: number): this {
    this.reserve(2).writeUInt16BE(value, this.length);
    this.length += 2;
    return this;
  }

  u32(value: number): this {
    this.reserve(4).writeUInt32BE(value, this.length);
    this.length += 4;
    return this;
  }

  f64(value: number): this {
    this.reserve(8).writeDoubleBE(value, this.length);
    this.length += 8;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.reserve(value.length).set(value, this.length);
    this.length += value.length;
    return this;
  }

  /** A copy of what was written. */
  finish(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }

  private reserve(bytes: number): Buffer {
    if (this.length + bytes > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    return this.buffer;
  }
}

/** Reads big-endian fields; running past the end throws a RangeError (the record is malformed). */
export class ByteReader {
  private at = 0;
  constructor(private readonly buffer: Buffer) {}

  u8(): number {
    return this.buffer.readUInt8(this.advance(1));
  }

  u16(): number {
    return this.buffer.readUInt16BE(this.advance(2));
  }

  u32(): number {
    return this.buffer.readUInt32BE(this.advance(4));
  }

  f64(): number {
    return this.buffer.readDoubleBE(this.advance(8));
  }

  bytes(length: number): Buffer {
    const start = this.advance(length);
    return this.buffer.subarray(start, start + length);
  }

  rest(): Buffer {
    return this.bytes(this.buffer.length - this.at);
  }

  get done(): boolean {
    return this.at === this.buffer.length;
  }

  private advance(bytes: number): number {
    const start = this.at;
    if (start + bytes > this.buffer.length) throw new RangeError(`record too short: ${bytes} bytes wanted at offset ${start} of ${this.buffer.length}`);
    this.at += bytes;
    return start;
  }
}
