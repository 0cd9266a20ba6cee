/**
 * Standard base64 (RFC 4648 §4, padded), hand-written so the core needs neither `node:buffer` nor the
 * browser-only string round trip of `btoa`/`atob`.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ENCODE = new Uint8Array(64).map((_, i) => ALPHABET.charCodeAt(i));
/** Character code → 6-bit value, 255 for characters outside the alphabet. */
const DECODE = new Uint8Array(128).fill(255);
for (let i = 0; i < 64; i++) DECODE[ALPHABET.charCodeAt(i)] = i;
const PAD = 61; // '='
/** Up to this many input bytes, joining two-character strings beats filling bytes and a TextDecoder call. */
const SMALL = 36;
/** The two base64 characters of every 12-bit value. */
const PAIRS: readonly string[] = Array.from({ length: 4096 }, (_, v) => ALPHABET[v >>> 6]! + ALPHABET[v & 63]!);
const ascii = new TextDecoder();

/** The padded base64 text of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n === 0) return '';
  if (n <= SMALL) return encodeSmall(bytes);
  const out = new Uint8Array(Math.ceil(n / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ENCODE[v >>> 18]!;
    out[o++] = ENCODE[(v >>> 12) & 63]!;
    out[o++] = ENCODE[(v >>> 6) & 63]!;
    out[o++] = ENCODE[v & 63]!;
  }
  if (i < n) {
    const v = (bytes[i]! << 16) | (i + 1 < n ? bytes[i + 1]! << 8 : 0);
    out[o++] = ENCODE[v >>> 18]!;
    out[o++] = ENCODE[(v >>> 12) & 63]!;
    out[o++] = i + 1 < n ? ENCODE[(v >>> 6) & 63]! : PAD;
    out[o++] = PAD;
  }
  return ascii.decode(out);
}

/** {@link encodeBase64} of a short payload (an entry of a few dozen bytes): two characters per 12 bits. */
function encodeSmall(bytes: Uint8Array): string {
  const n = bytes.length;
  let text = '';
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    text += PAIRS[v >>> 12]! + PAIRS[v & 4095]!;
  }
  if (i < n) {
    const v = (bytes[i]! << 16) | (i + 1 < n ? bytes[i + 1]! << 8 : 0);
    text += PAIRS[v >>> 12]! + (i + 1 < n ? `${ALPHABET[(v >>> 6) & 63]!}=` : '==');
  }
  return text;
}

/**
 * The bytes of padded base64 `text`, or `null` when it is not canonical base64: a length that is not a
 * multiple of 4, a character outside `A–Z a–z 0–9 + /`, misplaced `=`, or non-zero bits in the padding
 * (so that every byte string has exactly one accepted text).
 */
export function decodeBase64(text: string): Uint8Array | null {
  const len = text.length;
  if (len % 4 !== 0) return null;
  if (len === 0) return new Uint8Array(0);
  const pad = text.charCodeAt(len - 1) === PAD ? (text.charCodeAt(len - 2) === PAD ? 2 : 1) : 0;
  const out = new Uint8Array((len / 4) * 3 - pad);
  let o = 0;
  const full = pad === 0 ? len : len - 4;
  for (let i = 0; i < full; i += 4) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = sextet(text, i + 2);
    const d = sextet(text, i + 3);
    if ((a | b | c | d) > 63) return null;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >>> 16;
    out[o++] = (v >>> 8) & 255;
    out[o++] = v & 255;
  }
  if (pad > 0) {
    const a = sextet(text, full);
    const b = sextet(text, full + 1);
    if ((a | b) > 63) return null;
    if (pad === 2) {
      if ((b & 15) !== 0) return null;
      out[o] = (a << 2) | (b >>> 4);
    } else {
      const c = sextet(text, full + 2);
      if (c > 63 || (c & 3) !== 0) return null;
      out[o++] = (a << 2) | (b >>> 4);
      out[o] = ((b & 15) << 4) | (c >>> 2);
    }
  }
  return out;
}

function sextet(text: string, i: number): number {
  const code = text.charCodeAt(i);
  return code < 128 ? DECODE[code]! : 255;
}
