/**
 * Byte-level writing and reading for the compact Redis formats (state-codec, history-codec):
 * unsigned LEB128 varints for any safe integer (no 32-bit bit operations), little-endian
 * float64 and fixed-width integers, nullable time deltas. Errors name the format.
 */
// Scratch for float conversion, shared: encoding and decoding are synchronous.
const FLOAT_BYTES = new Uint8Array(8);
const FLOAT_VIEW = new DataView(FLOAT_BYTES.buffer);
const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder("utf-8", { fatal: true });

/** Bytes of `text` in UTF-8 (lone surrogates count as U+FFFD's 3). */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) length += 1;
    else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00) {
      length += 2; // a surrogate pair: 4 bytes for 2 code units
      index++;
    } else length += 2;
  }
  return length;
}

export class ByteWriter {
  private bytes = new Uint8Array(512);
  length = 0;

  /** `what` names the format in errors (e.g. "state codec"). */
  constructor(private readonly what: string) {}

  reset(): this {
    this.length = 0;
    return this;
  }

  private room(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  byte(value: number): void {
    this.room(1);
    this.bytes[this.length++] = value;
  }

  /** Unsigned varint for any safe integer ≥ 0 (no 32-bit bit operations). */
  uint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${this.what}: ${value} is not a safe unsigned integer`);
    this.room(8);
    while (value >= 0x80) {
      this.bytes[this.length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.bytes[this.length++] = value;
  }

  /** A nullable time as delta + 1 from base (0 = null). */
  maybeDelta(at: number | null, base: number): void {
    this.uint(at === null ? 0 : at - base + 1);
  }

  float(value: number): void {
    this.room(8);
    FLOAT_VIEW.setFloat64(0, value, true);
    this.bytes.set(FLOAT_BYTES, this.length);
    this.length += 8;
  }

  /** An unsigned integer in exactly `size` bytes, little-endian. */
  fixed(value: number, size: number): void {
    this.room(size);
    for (let index = 0; index < size; index++) {
      this.bytes[this.length++] = value % 256;
      value = Math.floor(value / 256);
    }
  }

  /** Raw bytes, as they are. */
  raw(value: Uint8Array): void {
    this.room(value.length);
    this.bytes.set(value, this.length);
    this.length += value.length;
  }

  /**
   * Text as UTF-8 bytes (no length: the caller writes it first, see utf8Length). Text that is
   * not well-formed Unicode is written with U+FFFD for its lone surrogates.
   */
  utf8(text: string, byteLength: number): void {
    this.room(byteLength);
    if (byteLength === text.length) {
      for (let index = 0; index < text.length; index++) this.bytes[this.length++] = text.charCodeAt(index);
      return;
    }
    this.length += UTF8_ENCODER.encodeInto(text, this.bytes.subarray(this.length)).written;
  }

  /** A fresh copy of what was written. */
  result(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

export class ByteReader {
  private offset = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  byte(): number {
    if (this.offset >= this.bytes.length) throw new RangeError(`${this.what}: truncated`);
    return this.bytes[this.offset++]!;
  }

  uint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new RangeError(`${this.what}: varint too long`);
    }
  }

  float(): number {
    if (this.offset + 8 > this.bytes.length) throw new RangeError(`${this.what}: truncated`);
    FLOAT_BYTES.set(this.bytes.subarray(this.offset, this.offset + 8));
    this.offset += 8;
    return FLOAT_VIEW.getFloat64(0, true);
  }

  /** A time stored as a delta from base. */
  at(base: number): number {
    return base + this.uint();
  }

  /** A nullable time stored as delta + 1 (0 = null). */
  maybeAt(base: number): number | null {
    const raw = this.uint();
    return raw === 0 ? null : base + raw - 1;
  }

  fixed(size: number): number {
    let value = 0;
    let scale = 1;
    for (let index = 0; index < size; index++) {
      value += this.byte() * scale;
      scale *= 256;
    }
    return value;
  }

  /** The next `length` bytes as UTF-8 text; bytes that are not UTF-8 are an error. */
  utf8(length: number): string {
    const bytes = this.take(length);
    let ascii = true;
    for (let index = 0; index < bytes.length; index++) if (bytes[index]! >= 0x80) ascii = false;
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
    try {
      return UTF8_DECODER.decode(bytes);
    } catch {
      throw new RangeError(`${this.what}: text is not UTF-8`);
    }
  }

  /** The next `length` bytes (a view, not a copy). */
  take(length: number): Uint8Array {
    if (this.offset + length > this.bytes.length) throw new RangeError(`${this.what}: truncated`);
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  done(): boolean {
    return this.offset === this.bytes.length;
  }
}
