import { compareHLC, formatTicket, hlcEquals, isHLCTimestamp, parseTicket } from '../../src/hlc/timestamp-order.js';
import { HLC_ZERO, type HLCTimestamp } from '../../src/hlc/timestamp.js';

const ts = (physical: number, counter: number): HLCTimestamp => ({ physical, counter });

describe('compareHLC and hlcEquals', () => {
  it('orders by physical time first, then by counter', () => {
    expect(compareHLC(ts(1, 9), ts(2, 0))).toBe(-1);
    expect(compareHLC(ts(2, 0), ts(1, 9))).toBe(1);
    expect(compareHLC(ts(2, 1), ts(2, 3))).toBe(-1);
    expect(compareHLC(ts(2, 3), ts(2, 1))).toBe(1);
    expect(compareHLC(ts(2, 3), ts(2, 3))).toBe(0);
  });

  it('sorts an array as a comparator', () => {
    const sorted = [ts(5, 0), ts(1, 2), HLC_ZERO, ts(1, 0), ts(5, 1)].sort(compareHLC);
    expect(sorted).toEqual([ts(0, 0), ts(1, 0), ts(1, 2), ts(5, 0), ts(5, 1)]);
  });

  it('compares by value, not identity', () => {
    expect(hlcEquals(ts(7, 1), ts(7, 1))).toBe(true);
    expect(hlcEquals(ts(7, 1), ts(7, 2))).toBe(false);
    expect(hlcEquals(ts(7, 1), ts(8, 1))).toBe(false);
  });
});

describe('tickets', () => {
  it.each([ts(0, 0), ts(1718000000000, 3), ts(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), ts(10, 100)])(
    'round-trips %p',
    (timestamp) => {
      const text = formatTicket(timestamp);
      expect(parseTicket(text)).toEqual(timestamp);
      expect(formatTicket(parseTicket(text))).toBe(text);
    },
  );

  it('formats as "<physical>.<counter>"', () => {
    expect(formatTicket(ts(1718000000000, 3))).toBe('1718000000000.3');
    expect(formatTicket(HLC_ZERO)).toBe('0.0');
  });

  it('keeps order distinguishable where decimal text would not: 1.10 is after 1.9', () => {
    expect(compareHLC(parseTicket('1.10'), parseTicket('1.9'))).toBe(1);
  });

  it.each([
    '',
    '1',
    '1.',
    '.1',
    '1.2.3',
    ' 1.2',
    '1.2 ',
    '+1.2',
    '-1.2',
    '01.2',
    '1.02',
    '1e3.0',
    '0x10.1',
    '1_000.0',
    'abc',
    '1,2',
    '１.２',
    '9007199254740992.0',
    '1.9007199254740992',
  ])('rejects %p with the expected form in the message', (text) => {
    expect(() => parseTicket(text)).toThrow(SyntaxError);
    expect(() => parseTicket(text)).toThrow(
      `${JSON.stringify(text)} is not an HLC ticket; expected "<physical>.<counter>"`,
    );
  });

  it('shortens a huge garbage ticket in the error message', () => {
    const garbage = 'x'.repeat(10_000);
    let message = '';
    try {
      parseTicket(garbage);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^parseTicket: "x+…/);
    expect(message.length).toBeLessThan(300);
  });

  it('rejects non-string tickets', () => {
    expect(() => parseTicket(12 as unknown as string)).toThrow(
      new TypeError('parseTicket: expected ticket text such as "1718000000000.3", got 12.'),
    );
  });

  it('refuses to format a malformed timestamp', () => {
    expect(() => formatTicket(ts(-1, 0))).toThrow(
      /formatTicket: expected an HLC timestamp .* got \{"physical":-1,"counter":0\}/,
    );
    expect(() => formatTicket(ts(1, 0.5))).toThrow(TypeError);
  });
});

describe('isHLCTimestamp', () => {
  it.each<[unknown, boolean]>([
    [ts(0, 0), true],
    [{ physical: 1, counter: 2, extra: 'ok' }, true],
    [ts(Number.MAX_SAFE_INTEGER, 0), true],
    [null, false],
    [undefined, false],
    ['1.2', false],
    [{ physical: 1 }, false],
    [{ counter: 1 }, false],
    [ts(-1, 0), false],
    [ts(0, -1), false],
    [ts(1.5, 0), false],
    [ts(Number.NaN, 0), false],
    [ts(2 ** 53, 0), false],
    [{ physical: '1', counter: 0 }, false],
    [{ physical: 1n, counter: 0 }, false],
  ])('%p → %p', (value, expected) => {
    expect(isHLCTimestamp(value)).toBe(expected);
  });
});
