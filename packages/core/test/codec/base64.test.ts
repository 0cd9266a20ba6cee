import { decodeBase64, encodeBase64 } from '../../src/codec/base64.js';

describe('base64', () => {
  test('matches Node’s encoder for every length up to 300 and random bytes', () => {
    let seed = 12345;
    for (let n = 0; n <= 300; n++) {
      const bytes = new Uint8Array(n).map(() => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed >>> 24;
      });
      const text = encodeBase64(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64'));
      expect(Buffer.from(decodeBase64(text) as Uint8Array).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  test('refuses what is not canonical padded base64', () => {
    for (const bad of ['A', 'AB', 'ABC', 'AB=C', '====', 'A===', 'AB=', 'ab cd', 'ab\ncd', 'ab-_', 'AB==AB==', 'AB\u00e9=', 'AR==', 'AAB=']) {
      expect(decodeBase64(bad)).toBeNull();
    }
    expect(decodeBase64('')).toEqual(new Uint8Array(0));
    expect(Array.from(decodeBase64('AA==') as Uint8Array)).toEqual([0]);
    expect(Array.from(decodeBase64('AAA=') as Uint8Array)).toEqual([0, 0]);
  });
});
