import { Trace } from '../../src/sim/trace.js';

describe('Trace', () => {
  test('equal records give equal hashes; any difference changes the hash', () => {
    const build = (texts: string[], extra = 0): string => {
      const t = new Trace(10);
      texts.forEach((text, i) => t.record(i, text));
      t.mixInt(extra);
      return t.hash;
    };
    const base = build(['a', 'b', 'c']);
    expect(build(['a', 'b', 'c'])).toBe(base);
    expect(build(['a', 'c', 'b'])).not.toBe(base);
    expect(build(['a', 'b', 'c'], 1)).not.toBe(base);
    expect(base).toMatch(/^[0-9a-f]{16}$/);
  });

  test('the time of a record is part of the hash', () => {
    const a = new Trace();
    const b = new Trace();
    a.record(1, 'x');
    b.record(2, 'x');
    expect(a.hash).not.toBe(b.hash);
  });

  test('keeps only the last lines, oldest first, with their times', () => {
    const t = new Trace(3);
    for (let i = 1; i <= 5; i++) t.record(i * 1.5, `line ${i}`);
    expect(t.count).toBe(5);
    expect(t.tail()).toEqual(['     4.500 line 3', '     6.000 line 4', '     7.500 line 5']);
    expect(t.tail(1)).toEqual(['     7.500 line 5']);
  });

  test('formats a line\'s detail only when the line is shown, and keeps it out of the hash', () => {
    let calls = 0;
    const t = new Trace(2);
    t.record(1, 'net n1>n2', () => {
      calls++;
      return '[Append p1]';
    });
    const plain = new Trace(2);
    plain.record(1, 'net n1>n2');
    expect(calls).toBe(0);
    expect(t.hash).toBe(plain.hash);
    expect(t.tail()).toEqual(['     1.000 net n1>n2 [Append p1]']);
    expect(calls).toBe(1);
  });
});
