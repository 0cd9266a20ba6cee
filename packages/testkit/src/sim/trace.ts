import { imul, max, round } from './fast-globals.js';

/** One line of the event trace. */
export interface TraceLine {
  /** Virtual milliseconds since the start of the run. */
  readonly time: number;
  readonly text: string;
  /** Formats more detail, only when the line is shown (most lines never are). */
  readonly detail: (() => string) | undefined;
}

/**
 * The run's event trace: a rolling hash over every event (so two runs can be compared in O(1)) and the
 * last `capacity` lines verbatim (to show what led up to a failure).
 */
export class Trace {
  private h1 = 0x811c9dc5;
  private h2 = 0x9747b28c;
  private readonly ring: (TraceLine | undefined)[];
  private head = 0;
  /** Lines recorded so far. */
  count = 0;

  /** @param capacity lines kept for {@link tail}. Default 200. */
  constructor(readonly capacity = 200) {
    this.ring = new Array<TraceLine | undefined>(max(1, capacity));
  }

  /** Records a line; `detail` is called only if the line ends up in a {@link tail}. */
  record(time: number, text: string, detail?: () => string): void {
    this.mix(time, text);
    this.ring[this.head] = { time, text, detail };
    this.head = (this.head + 1) % this.ring.length;
    this.count++;
  }

  /** Folds a fact into the hash without keeping a line (cheap enough for every message). */
  mix(time: number, text: string): void {
    let h1 = this.h1;
    let h2 = this.h2;
    const t = round(time * 1000);
    h1 = imul(h1 ^ (t >>> 0), 0x01000193);
    h2 = imul(h2 ^ ((t / 0x1_0000_0000) >>> 0), 0x5bd1e995);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = imul(h1 ^ c, 0x01000193);
      h2 = imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    this.h1 = h1;
    this.h2 = h2;
  }

  /** Folds an integer into the hash (for facts too frequent to format as text). */
  mixInt(n: number): void {
    this.h1 = imul(this.h1 ^ (n | 0), 0x01000193);
    this.h2 = imul(this.h2 ^ (n | 0), 0x5bd1e995);
    this.h2 ^= this.h2 >>> 15;
  }

  /** A 64-bit digest of everything recorded or mixed, as 16 hex digits. */
  get hash(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0');
  }

  /** The most recent lines, oldest first, formatted as `time text`. */
  tail(lines = this.capacity): string[] {
    const out: string[] = [];
    const n = this.ring.length;
    for (let k = 0; k < n; k++) {
      const line = this.ring[(this.head + k) % n];
      if (line === undefined) continue;
      const more = line.detail === undefined ? '' : ` ${line.detail()}`;
      out.push(`${line.time.toFixed(3).padStart(10)} ${line.text}${more}`);
    }
    return out.slice(max(0, out.length - lines));
  }
}
