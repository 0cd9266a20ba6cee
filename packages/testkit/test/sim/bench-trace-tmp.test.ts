const imul = Math.imul;
function mixLocal(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}
function mixCached(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}
function numCheck(x: number): boolean { return Number.isInteger(x); }
test('global lookup speed', () => {
  let s = performance.now();
  let h = 0;
  for (let i = 0; i < 100000; i++) h = mixLocal(h, 'timer n1');
  console.log('Math.imul', performance.now() - s, h);
  s = performance.now();
  for (let i = 0; i < 100000; i++) h = mixCached(h, 'timer n1');
  console.log('cached imul', performance.now() - s, h);
  s = performance.now();
  let k = 0;
  for (let i = 0; i < 1000000; i++) if (numCheck(i)) k++;
  console.log('Number.isInteger x1e6', performance.now() - s, k);
  s = performance.now();
  const m = new Map<number, number>();
  for (let i = 0; i < 1000000; i++) m.set(i & 1023, i);
  console.log('map.set x1e6', performance.now() - s);
});
