import { xxHash64, xxHash64Low32 } from '../../src/routing/xxhash64.js';

const PRIME32 = 2654435761;
const PRIME64 = 11400714785074694797n;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/**
 * The sanity buffer of the reference CLI's self-test (`XSUM_fillTestBuffer` in
 * Cyan4973/xxHash cli/xsum_sanity_check.c): byte i is the top byte of PRIME32 * PRIME64^i mod 2^64.
 */
function referenceSanityBuffer(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let generator = BigInt(PRIME32);
  for (let i = 0; i < length; i++) {
    bytes[i] = Number(generator >> 56n);
    generator = (generator * PRIME64) & 0xffffffffffffffffn;
  }
  return bytes;
}

/**
 * The 101-byte sanity buffer of the older xxhsum.c self-test (`BMK_sanityCheck`, SANITY_BUFFER_SIZE 101):
 * byte i is the top byte of a 32-bit generator that starts at PRIME32 and is squared after each byte.
 */
function legacySanityBuffer(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let generator = PRIME32;
  for (let i = 0; i < length; i++) {
    bytes[i] = generator >>> 24;
    generator = Math.imul(generator, generator) >>> 0;
  }
  return bytes;
}

interface Vector {
  readonly name: string;
  readonly input: Uint8Array;
  readonly seed: bigint | number;
  readonly expected: bigint;
}

// Source: Cyan4973/xxHash cli/xsum_sanity_check.c, table XSUM_XXH64_testdata (len, seed, result) over the
// buffer above. Lengths 1, 4, 14 and 222 hit the byte tail, the 4-byte tail, the 8-byte tail and the stripe loop.
const referenceSanity = referenceSanityBuffer(222);
const referenceVectors: Vector[] = [
  [0, 0, 0xef46db3751d8e999n],
  [0, PRIME32, 0xac75fda2929b17efn],
  [1, 0, 0xe934a84adb052768n],
  [1, PRIME32, 0x5014607643a9b4c3n],
  [4, 0, 0x9136a0dca57457een],
  [14, 0, 0x8282dcc4994e35c8n],
  [14, PRIME32, 0xc3bd6bf63deb6df0n],
  [222, 0, 0xb641ae8cb691c174n],
  [222, PRIME32, 0x20cb8ab7ae10c14an],
].map(([length, seed, expected]) => ({
  name: `xsum sanity buffer, ${length} bytes, seed ${seed}`,
  input: referenceSanity.subarray(0, Number(length)),
  seed: seed as number,
  expected: expected as bigint,
}));

// Source: the self-test of the older xxhsum.c in Cyan4973/xxHash (BMK_sanityCheck, BMK_testSequence64 calls).
const legacySanity = legacySanityBuffer(101);
const legacyVectors: Vector[] = [
  [1, 0, 0x4fce394cc88952d8n],
  [1, PRIME32, 0x739840cb819fa723n],
  [14, 0, 0xcffa8db881bc3a3dn],
  [14, PRIME32, 0x5b9611585efcc9cbn],
  [101, 0, 0x0eab543384f878adn],
  [101, PRIME32, 0xcaa65939306f1e21n],
].map(([length, seed, expected]) => ({
  name: `legacy sanity buffer, ${length} bytes, seed ${seed}`,
  input: legacySanity.subarray(0, Number(length)),
  seed: seed as number,
  expected: expected as bigint,
}));

// Source: cespare/xxhash xxhash_test.go, TestSum (seed 0). The 63-byte input is 32 + 3*8 + 4 + 3 bytes.
const asciiVectors: Vector[] = [
  ['', 0xef46db3751d8e999n],
  ['a', 0xd24ec4f1a98c6e5bn],
  ['as', 0x1c330fb2d66be179n],
  ['asd', 0x631c37ce72a97393n],
  ['asdf', 0x415872f599cea71en],
  ['Call me Ishmael. Some years ago--never mind how long precisely-', 0x02a2e85470d6fd96n],
].map(([text, expected]) => ({
  name: JSON.stringify(text),
  input: utf8(text as string),
  seed: 0,
  expected: expected as bigint,
}));

// Source: dotnet/runtime src/libraries/System.IO.Hashing/tests/XxHash64Tests.cs (seed 0) and
// XxHash64Tests_Seeded_007.cs / XxHash64Tests_Seeded_f00d.cs (64-bit seeds; the second one is above 2^63).
const thirtyThree = 'This string has 33 ASCII bytes...';
const sixtyThree = 'A sixty-three byte test input requires substantial forethought!';
const thirtyTwo = 'This string has 32 ASCII bytes..';
const sixteen = '0123456789ABCDEF';
const dotnetInputs: Record<string, string> = {
  nobody: 'Nobody inspects the spammish repetition',
  fox: 'The quick brown fox jumps over the lazy dog',
  foxDot: 'The quick brown fox jumps over the lazy dog.',
  abc: 'abc',
  six: '123456',
  forty: '1234567890123456789012345678901234567890',
  fortyOne: '12345678901234567890123456789012345678901',
  fortyFour: '12345678901234567890123456789012345678901234',
  thirtyOne: '.NET now has non-crypto hashing',
  ninetyNine: thirtyThree.repeat(3),
  oneEightyNine: sixtyThree.repeat(3),
  ninetySix: thirtyTwo.repeat(3),
  fortyEight: sixteen.repeat(3),
  empty: '',
};
const dotnetExpected: Record<string, Record<string, bigint>> = {
  '0': {
    empty: 0xef46db3751d8e999n,
    nobody: 0xfbcea83c8a378bf1n,
    fox: 0x0b242d361fda71bcn,
    foxDot: 0x44ad33705751ad73n,
    abc: 0x44bc2cf5ad770999n,
    six: 0x2b2dc38aaa53c322n,
    forty: 0x5f3af5e23eeb431dn,
    fortyOne: 0x45a03ed59ab5cad6n,
    fortyFour: 0xca5c1b5b9061279fn,
    thirtyOne: 0xd8444d7806dfde0en,
    ninetyNine: 0x488df4e623587e10n,
    oneEightyNine: 0x239c7b3a85bd22b3n,
    ninetySix: 0x975e3e6fe7e67fbcn,
    fortyEight: 0xbdd40f0fac166eaan,
  },
  [String(0x007_007_007_007_007n)]: {
    empty: 0x62adcad4ec80840en,
    nobody: 0xc86a41e2f34280a0n,
    fox: 0xbb05857f11b054ebn,
    foxDot: 0x618682461cb28f83n,
    abc: 0x6bf4b26e3ca10c20n,
    six: 0xca35e96df53d4962n,
    forty: 0xfa3195b38205c088n,
    fortyOne: 0x1980150281df51a9n,
    fortyFour: 0x4ae47735fd53bf97n,
    thirtyOne: 0xd3ecf5bfe5f49b6fn,
    ninetyNine: 0x27c38aca51cd2684n,
    oneEightyNine: 0xd6095b93eb10bedan,
    ninetySix: 0x45116421cf932b1fn,
  },
  [String(0xf00d_f00d_f00d_f00dn)]: {
    empty: 0x013f6a1bb39c1087n,
    nobody: 0x76e6275980cf4e30n,
    fox: 0x5cc25b2b8248df76n,
    foxDot: 0x10e8d9e4da841407n,
    abc: 0xae9da0e407940a85n,
    six: 0x99e249386c1eb47dn,
    forty: 0x0da1bd86faaa1bc8n,
    fortyOne: 0x913dfb6c43c01eb3n,
    fortyFour: 0xf15334d3bcfc5841n,
    thirtyOne: 0xc5551996d9f3737fn,
    ninetyNine: 0x6bd086c0cc425d9fn,
    oneEightyNine: 0x6f1c62eb48ea2fecn,
    ninetySix: 0xb358eb96b8e3e7adn,
  },
};
const dotnetVectors: Vector[] = Object.entries(dotnetExpected).flatMap(([seed, table]) =>
  Object.entries(table).map(([key, expected]) => {
    const text = dotnetInputs[key]!;
    return { name: `${key} (${text.length} bytes), seed ${seed}`, input: utf8(text), seed: BigInt(seed), expected };
  }),
);

const allVectors = [...referenceVectors, ...legacyVectors, ...asciiVectors, ...dotnetVectors];

describe('xxHash64', () => {
  it.each(allVectors.map((v) => [v.name, v] as const))('matches the published value: %s', (_name, vector) => {
    expect(xxHash64(vector.input, vector.seed)).toBe(vector.expected);
  });

  it('covers every input-length path of the algorithm with the vectors above', () => {
    // Guards the vector table itself: lengths below 4, 4..7, 8..31, at least 32, stripes with and
    // without a remainder, and each tail kind (8-byte words, a 4-byte word, single bytes).
    const lengths = new Set(allVectors.map((v) => v.input.length));
    for (const length of [0, 1, 2, 3, 4, 6, 14, 31, 40, 41, 44, 48, 63, 96, 99, 101]) {
      expect(lengths).toContain(length);
    }
  });

  it('accepts the seed as a number or as a bigint with the same result', () => {
    const input = referenceSanity.subarray(0, 14);
    expect(xxHash64(input, PRIME32)).toBe(xxHash64(input, BigInt(PRIME32)));
    expect(xxHash64(input, 0)).toBe(xxHash64(input));
  });

  it('hashes only the bytes of the view it is given', () => {
    const backing = new Uint8Array(80).fill(0xee);
    const text = utf8('Call me Ishmael. Some years ago--never mind how long precisely-');
    backing.set(text, 7);
    expect(xxHash64(backing.subarray(7, 7 + text.length))).toBe(0x02a2e85470d6fd96n);
  });

  it('rejects input that is not a Uint8Array, naming the type', () => {
    expect(() => xxHash64('abc' as unknown as Uint8Array)).toThrow(/input must be a Uint8Array, got string/);
    expect(() => xxHash64([1, 2] as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('rejects seeds outside the unsigned 64-bit range or not integral', () => {
    const input = utf8('abc');
    expect(() => xxHash64(input, -1)).toThrow(/seed -1 is not a non-negative safe integer/);
    expect(() => xxHash64(input, 1.5)).toThrow(RangeError);
    expect(() => xxHash64(input, 2 ** 53)).toThrow(/pass a bigint/);
    expect(() => xxHash64(input, -1n)).toThrow(/outside \[0, 2\^64\)/);
    expect(() => xxHash64(input, 1n << 64n)).toThrow(RangeError);
    expect(() => xxHash64(input, '1' as unknown as number)).toThrow(/seed must be a bigint or a number, got string/);
  });
});

describe('xxHash64Low32', () => {
  it.each(asciiVectors.concat(dotnetVectors.filter((v) => v.seed === 0n)).map((v) => [v.name, v] as const))(
    'is the low 32 bits of the published value: %s',
    (_name, vector) => {
      const buffer = new Uint8Array(vector.input.length + 16).fill(0xab);
      buffer.set(vector.input);
      expect(xxHash64Low32(buffer, vector.input.length)).toBe(Number(vector.expected & 0xffffffffn));
    },
  );

  it('rejects a length outside the buffer', () => {
    const buffer = new Uint8Array(4);
    expect(() => xxHash64Low32(buffer, 5)).toThrow(/length 5 is not an integer in \[0, 4\]/);
    expect(() => xxHash64Low32(buffer, -1)).toThrow(RangeError);
    expect(() => xxHash64Low32(buffer, 1.5)).toThrow(RangeError);
  });
});
