import fc from 'fast-check';

/**
 * Hostile values for input fuzzing. Every generator here yields only values the contract must refuse in the
 * position it is used for (a generator that could yield a valid value would make a stored write legitimate).
 */

/** Query operators and prototype keys, the classic NoSQL injection and pollution payloads. */
export const operatorObject = fc.constantFrom<Record<string, unknown>>(
  { $gt: '' },
  { $ne: null },
  { $where: 'sleep(1000) || true' },
  { $regex: '.*' },
  { $in: [] },
  { $exists: true },
  { $expr: { $eq: [1, 1] } },
  { $function: { body: 'return true', args: [], lang: 'js' } },
  JSON.parse('{"__proto__":{"polluted":true}}') as Record<string, unknown>,
  { constructor: { prototype: { polluted: true } } },
  { toString: 'x', valueOf: 1 },
);

/** Deeply nested arrays or objects (a parser or validator that recurses per level would fall over). */
export const deepNesting = fc
  .tuple(fc.integer({ min: 20, max: 1200 }), fc.boolean())
  .map(([depth, arrays]) => {
    let value: unknown = 'x';
    for (let i = 0; i < depth; i += 1) value = arrays ? [value] : { a: value };
    return value;
  });

/** Anything that is not a string. */
export const notAString: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  operatorObject,
  fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
  deepNesting,
);

/** Anything that is not a number (for integer fields). */
export const notANumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('5', '0x10', '1e3', 'NaN', 'Infinity', ''),
  fc.boolean(),
  fc.constant(null),
  operatorObject,
  fc.array(fc.integer(), { maxLength: 3 }),
  deepNesting,
);

/** Not a non-negative safe integer: negative, fractional, huge or not a number at all. */
export const badSeq: fc.Arbitrary<unknown> = fc.oneof(
  notANumber,
  fc.integer({ max: -1 }),
  fc.double({ min: 0.001, max: 1e6, noNaN: true }).filter((d) => !Number.isInteger(d)),
  fc.constantFrom(1e300, -0.5, Number.MAX_SAFE_INTEGER * 4),
);

/**
 * Long strings of `min`..`max` characters (code points, so never a broken surrogate pair) of at most `maxBytes`
 * UTF-8 bytes: wide characters are used only when `min` of them fit.
 */
export const longString = (min: number, max: number, maxBytes = 7800): fc.Arbitrary<string> =>
  fc.tuple(fc.integer({ min, max }), fc.constantFrom('x', 'é', '😀', '€')).map(([n, wide]) => {
    const c = min * Buffer.byteLength(wide) <= maxBytes ? wide : 'x';
    const count = Math.max(min, Math.min(n, Math.floor(maxBytes / Buffer.byteLength(c))));
    return c.repeat(count);
  });

/** Strings that trim to nothing (JavaScript's trim: spaces, tabs, newlines, NBSP, BOM, em space…). */
export const blankString = fc
  .array(fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\u2003', '\ufeff', '\u3000'), { maxLength: 20 })
  .map((chars) => chars.join(''));

const HEX24 = /^[0-9a-fA-F]{24}$/;

/** Hex strings (lower case) of a length in [minLength, maxLength]. */
export const hexString = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength, maxLength });

/** Strings that are not a 24-hex ObjectId. */
export const badIdString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }).filter((s) => !HEX24.test(s)),
  hexString(0, 60).filter((s) => s.length !== 24),
  fc.constantFrom(
    '',
    ' ',
    '..',
    '../../auth/me',
    '%2e%2e',
    '000000000000000000000000 ',
    '00000000000000000000000g',
    '{"$gt":""}',
    '[object Object]',
    'null',
    'undefined',
    '__proto__',
    'constructor',
    '0'.repeat(3000),
  ),
);

/** A value that is not a valid ObjectId string: wrong types or wrong strings. */
export const badId: fc.Arbitrary<unknown> = fc.oneof(notAString, badIdString);

/** Invalid UTF-8 byte sequences (lone continuation, overlong, surrogate halves, truncated, out of range). */
export const invalidUtf8 = fc.constantFrom(
  [0xff],
  [0xfe, 0xff],
  [0x80],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
);

/** JSON texts that are not a JSON object body: malformed, primitives, deep nesting. */
export const badJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '{',
    '{"a":',
    "{'text':'x'}",
    'NaN',
    '{"text":"x",}',
    '[]',
    'null',
    '0',
    '"text"',
    'true',
    '{"text":"\\ud800"',
    '\u0000',
    '{"a":1}{"b":2}',
  ),
  fc.integer({ min: 100, max: 3_800 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 100, max: 1_200 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  fc.string({ maxLength: 200 }).filter((s) => {
    try {
      const parsed: unknown = JSON.parse(s);
      return typeof parsed !== 'object' || parsed === null || Array.isArray(parsed);
    } catch {
      return true;
    }
  }),
);

/** Keys a strict schema must refuse (pollution and operator keys among them). */
export const extraKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    '$where',
    '$set',
    'toString',
    'hasOwnProperty',
    'isAdmin',
    'senderId',
    'seq',
    'id',
    '_id',
  ),
  fc.string({ minLength: 1, maxLength: 12 }),
);
