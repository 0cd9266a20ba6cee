import assert from 'node:assert/strict';
import { EntryKind, MessageType, type Entry, type Message, type NodeId, type Transport } from '@kommander/core';
import type { ConformanceTest } from './conformance-test.js';

/** A set of transports wired to each other, built by the adapter for one case of {@link transportConformance}. */
export interface TransportCluster {
  /** One transport per requested node id, not yet started: the suite starts each with its own handler. */
  readonly transports: ReadonlyMap<NodeId, Transport>;
  /**
   * Stops `node`'s transport (if it still runs) and returns a new, not yet started one for the same node
   * id, reachable by the others as before. Required by `supports.restart`.
   */
  restart?(node: NodeId): Promise<Transport>;
  /** From now on, drop every message between `a` and `b` in both directions, as a network partition would. Required by `supports.cut`. */
  cut?(a: NodeId, b: NodeId): Promise<void> | void;
  /** Undoes every `cut`. Required by `supports.cut`. */
  heal?(): Promise<void> | void;
  /** The largest batch, in encoded bytes, the transport carries. Required by `supports.sizeLimit`. */
  readonly maxMessageBytes?: number;
  /** Stops every transport still running (a case may have stopped some already) and releases everything the cluster holds. */
  close(): Promise<void>;
}

/** Which optional behaviours a {@link Transport} adapter claims; the suite registers only the cases it claims. Every flag defaults to false. */
export interface TransportCapabilities {
  /** Messages from one sender to one receiver arrive in send order (none lost on a healthy network). */
  readonly ordered?: boolean;
  /** A restarted peer is reached again without restarting the sender (the transport reconnects). Needs `cluster.restart`. */
  readonly restart?: boolean;
  /** The cluster can cut and heal links (`cluster.cut`, `cluster.heal`). */
  readonly cut?: boolean;
  /** Batches above `cluster.maxMessageBytes` are refused (send throws) or dropped, and later sends still work. */
  readonly sizeLimit?: boolean;
}

/** Options of {@link transportConformance}. */
export interface TransportConformanceOptions {
  /** Prefix of every case name, usually the adapter's name. */
  readonly name: string;
  /** The runner's test function (`test` of jest or node:test, `it` of mocha…). */
  readonly test: ConformanceTest;
  /** Builds transports for `nodeIds` that can reach each other. Called once per case. */
  readonly factory: (nodeIds: readonly NodeId[]) => Promise<TransportCluster> | TransportCluster;
  /** Default: no optional capability. */
  readonly supports?: TransportCapabilities;
  /** How long a case waits for an expected delivery before failing. Keep it below the runner's own test timeout. Default 4000 ms. */
  readonly timeoutMs?: number;
  /** How often a case resends while it waits for a transport to reconnect (after a restart or heal). Default 25 ms. */
  readonly resendMs?: number;
}

function message(from: NodeId, to: NodeId, partition: number, seq: number, fields: Partial<Message> = {}): Message {
  return {
    type: MessageType.Heartbeat,
    partition,
    from,
    to,
    term: 1,
    logTerm: 0,
    index: seq,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: 0,
    ...fields,
  };
}

function hex(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
}

/** Plain data for deepEqual: adapters may return fresh objects and any Uint8Array (a Buffer too). */
function plain(m: Message): unknown {
  return {
    ...m,
    entries: m.entries.map((e: Entry) => {
      assert.ok(e.data instanceof Uint8Array, `entry ${e.index} of partition ${m.partition}: data must be a Uint8Array`);
      return { ...e, time: { ...e.time }, data: hex(e.data) };
    }),
  };
}

/** Records what one transport's handler receives and lets a case wait, with a bound, for what it expects. */
class Inbox {
  readonly messages: Message[] = [];
  /** Handler calls after the case stopped this transport; any is a failure. */
  callsAfterStop = 0;
  private stopped = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly node: NodeId,
    private readonly timeoutMs: number,
  ) {}

  readonly handler = (batch: readonly Message[]): void => {
    if (this.stopped) this.callsAfterStop += 1;
    for (const m of batch) this.messages.push(m);
    for (const wake of this.waiters) wake();
  };

  markStopped(): void {
    this.stopped = true;
  }

  has(predicate: (m: Message) => boolean): boolean {
    return this.messages.some(predicate);
  }

  /** Resolves once `done()` holds after a delivery; rejects after the timeout with `what` and the count received. */
  until(what: string, done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        if (!done()) return;
        this.waiters.delete(wake);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`${this.node}: ${what} within ${this.timeoutMs} ms (received ${this.messages.length} messages)`));
      }, this.timeoutMs);
      this.waiters.add(wake);
    });
  }
}

/**
 * Registers the conformance cases of the {@link Transport} port with `options.test`, in the style of
 * abstract-level's shared suite. Cases wait for deliveries through the receiving handler (events) with a
 * bounded timeout, never by sleeping; while a case waits for a reconnection it resends every
 * `resendMs`, since the transport may lose messages meanwhile. Assertions use `node:assert/strict`, so any
 * runner works. Cases for capabilities the adapter does not claim are not registered.
 *
 * Every case expects a healthy network to deliver everything: best effort must not mean lossy when
 * nothing fails. Message fields must arrive unchanged, including numbers up to 2^53 and every byte of
 * `data`; transports may split or merge batches.
 */
export function transportConformance(options: TransportConformanceOptions): void {
  const supports = options.supports ?? {};
  const timeoutMs = options.timeoutMs ?? 4000;
  const resendMs = options.resendMs ?? 25;

  interface Case {
    readonly cluster: TransportCluster;
    readonly transports: Map<NodeId, Transport>;
    readonly inboxes: Map<NodeId, Inbox>;
    transport(node: NodeId): Transport;
    inbox(node: NodeId): Inbox;
    /** Stops `node`'s transport and marks its inbox so any later handler call counts as a failure. */
    stop(node: NodeId): Promise<void>;
    /** Sends `make()` from `from` to `to` every `resendMs` until `to`'s inbox holds what `arrived` looks for. */
    resendUntil(from: NodeId, to: NodeId, make: () => Message, arrived: (m: Message) => boolean, what: string): Promise<void>;
  }

  const test = (name: string, nodeIds: readonly NodeId[], body: (c: Case) => Promise<void>): void => {
    options.test(`${options.name} transport: ${name}`, async () => {
      const cluster = await options.factory(nodeIds);
      const transports = new Map<NodeId, Transport>();
      const inboxes = new Map<NodeId, Inbox>();
      const c: Case = {
        cluster,
        transports,
        inboxes,
        transport: (node) => {
          const found = transports.get(node);
          assert.ok(found !== undefined, `the cluster has no transport for ${node}`);
          return found;
        },
        inbox: (node) => {
          const found = inboxes.get(node);
          assert.ok(found !== undefined, `no inbox for ${node}`);
          return found;
        },
        stop: async (node) => {
          await c.transport(node).stop();
          c.inbox(node).markStopped();
        },
        resendUntil: async (from, to, make, arrived, what) => {
          const inbox = c.inbox(to);
          const send = (): void => c.transport(from).send(to, [make()]);
          send();
          const timer = setInterval(send, resendMs);
          try {
            await inbox.until(what, () => inbox.has(arrived));
          } finally {
            clearInterval(timer);
          }
        },
      };
      try {
        for (const node of nodeIds) {
          const transport = cluster.transports.get(node);
          assert.ok(transport !== undefined, `factory(${JSON.stringify(nodeIds)}) returned no transport for ${node}`);
          const inbox = new Inbox(node, timeoutMs);
          transports.set(node, transport);
          inboxes.set(node, inbox);
          await transport.start(inbox.handler);
        }
        await body(c);
      } finally {
        await cluster.close();
      }
    });
  };

  test('delivers one message', ['a', 'b'], async (c) => {
    const sent = message('a', 'b', 1, 1, { term: 3, commit: 2 });
    c.transport('a').send('b', [sent]);
    const inbox = c.inbox('b');
    await inbox.until('expected one message from a', () => inbox.messages.length >= 1);
    assert.equal(inbox.messages.length, 1, 'exactly one message arrives');
    assert.deepEqual(plain(inbox.messages[0] as Message), plain(sent));
  });

  test('a batch over many partitions arrives with every field intact', ['a', 'b'], async (c) => {
    const allBytes = new Uint8Array(256).map((_, i) => i);
    // Large enough to span several network packets, small enough to stay within a declared size limit.
    const largeBytes = Math.min(64 * 1024, Math.floor((c.cluster.maxMessageBytes ?? Infinity) / 4));
    const large = new Uint8Array(largeBytes).map((_, i) => (i * 131) & 0xff);
    const payloads = [new Uint8Array(0), allBytes, large, Buffer.from('héllo wörld ✓')];
    const kinds = Object.values(EntryKind);
    const baseIndex = 2 ** 45;
    const entriesOfEveryKind: Entry[] = kinds.map((kind, i) => ({
      index: baseIndex + i + 1,
      term: 2 ** 40 + 7,
      kind,
      type: kind === EntryKind.Data || kind === EntryKind.Proposed ? `orders/créé-${i}` : '',
      data: payloads[i % payloads.length] as Uint8Array,
      time: { physical: 1_700_000_000_123 + i, counter: 65_535 - i },
    }));
    const types = Object.values(MessageType);
    const sent: Message[] = types.map((type, i) => ({
      type,
      partition: i === 0 ? 0 : 1000 * i + 7,
      from: 'a',
      to: 'b',
      term: 2 ** 40 + i,
      logTerm: 2 ** 40 - 1,
      index: type === MessageType.Append ? baseIndex : Number.MAX_SAFE_INTEGER - i,
      entries: type === MessageType.Append ? entriesOfEveryKind : [],
      commit: 2 ** 44 + i,
      reject: i % 2 === 1,
      rejectHint: i * 3,
      context: i === 0 ? 0 : 2 ** 33 + i,
    }));
    c.transport('a').send('b', sent);
    const inbox = c.inbox('b');
    await inbox.until(`expected ${sent.length} messages`, () => inbox.messages.length >= sent.length);
    const byPartition = new Map(inbox.messages.map((m) => [m.partition, m]));
    assert.equal(inbox.messages.length, sent.length, 'every message arrives once');
    for (const m of sent) {
      const got = byPartition.get(m.partition);
      assert.ok(got !== undefined, `the message of partition ${m.partition} (type ${m.type}) is missing`);
      assert.deepEqual(plain(got), plain(m), `message of partition ${m.partition} (type ${m.type})`);
    }
  });

  if (supports.ordered === true) {
    test('messages from one sender arrive in send order', ['a', 'b'], async (c) => {
      const count = 500;
      for (let seq = 0; seq < count; seq++) {
        c.transport('a').send('b', [message('a', 'b', 1, 2 * seq), message('a', 'b', 2, 2 * seq + 1)]);
      }
      const inbox = c.inbox('b');
      await inbox.until(`expected ${2 * count} messages`, () => inbox.messages.length >= 2 * count);
      assert.deepEqual(
        inbox.messages.map((m) => m.index),
        Array.from({ length: 2 * count }, (_, i) => i),
      );
    });
  }

  test('three concurrent senders of 1,000 messages each lose nothing', ['s1', 's2', 's3', 'r'], async (c) => {
    const senders = ['s1', 's2', 's3'];
    const perSender = 1000;
    await Promise.all(
      senders.map(async (from) => {
        for (let seq = 0; seq < perSender; seq++) {
          c.transport(from).send('r', [message(from, 'r', 1, seq)]);
          // Yield now and then so the senders interleave with each other and with the deliveries.
          if (seq % 100 === 99) await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }),
    );
    const inbox = c.inbox('r');
    const total = senders.length * perSender;
    await inbox.until(`expected ${total} messages`, () => inbox.messages.length >= total);
    for (const from of senders) {
      const seqs = inbox.messages.filter((m) => m.from === from).map((m) => m.index);
      assert.equal(new Set(seqs).size, perSender, `every message of ${from} arrives once`);
      if (supports.ordered === true) assert.deepEqual(seqs, Array.from({ length: perSender }, (_, i) => i), `order of ${from}`);
    }
  });

  test('sending to a stopped peer does not throw and other peers still receive', ['a', 'b', 'c'], async (c) => {
    await c.stop('b');
    assert.doesNotThrow(() => c.transport('a').send('b', [message('a', 'b', 1, 1)]));
    c.transport('a').send('c', [message('a', 'c', 1, 2)]);
    const inbox = c.inbox('c');
    await inbox.until('expected the message from a', () => inbox.has((m) => m.index === 2));
    assert.equal(c.inbox('b').callsAfterStop, 0, 'the stopped peer was called');
  });

  test('after stop() resolves the handler is never called again', ['a', 'b', 'c'], async (c) => {
    for (let seq = 0; seq < 50; seq++) c.transport('a').send('b', [message('a', 'b', 1, seq)]);
    await c.stop('b');
    c.transport('a').send('b', [message('a', 'b', 1, 99)]);
    // A round trip through a third node gives frames still on their way to b the time to (wrongly) arrive.
    c.transport('a').send('c', [message('a', 'c', 1, 1)]);
    await c.inbox('c').until('expected the message from a', () => c.inbox('c').messages.length >= 1);
    c.transport('c').send('a', [message('c', 'a', 1, 2)]);
    await c.inbox('a').until('expected the reply from c', () => c.inbox('a').messages.length >= 1);
    assert.equal(c.inbox('b').callsAfterStop, 0, 'the handler was called after stop()');
  });

  if (supports.restart === true) {
    test('a restarted peer is reached again in both directions', ['a', 'b'], async (c) => {
      const restart = c.cluster.restart;
      assert.ok(restart !== undefined, 'supports.restart needs cluster.restart');
      await c.resendUntil('a', 'b', () => message('a', 'b', 1, 1), (m) => m.index === 1, 'expected the first message before the restart');
      const previous = c.inbox('b');
      const reborn = await restart.call(c.cluster, 'b');
      previous.markStopped();
      const inbox = new Inbox('b (restarted)', timeoutMs);
      c.transports.set('b', reborn);
      c.inboxes.set('b', inbox);
      await reborn.start(inbox.handler);
      await c.resendUntil('a', 'b', () => message('a', 'b', 1, 2), (m) => m.index === 2, 'expected a message to the restarted peer');
      await c.resendUntil('b', 'a', () => message('b', 'a', 1, 3), (m) => m.index === 3, 'expected a message from the restarted peer');
      assert.equal(previous.callsAfterStop, 0, 'the stopped incarnation was called after the restart');
    });
  }

  if (supports.cut === true) {
    test('a cut link drops messages both ways until heal, other links keep working', ['a', 'b', 'c'], async (c) => {
      const { cut, heal } = c.cluster;
      assert.ok(cut !== undefined && heal !== undefined, 'supports.cut needs cluster.cut and cluster.heal');
      await c.resendUntil('a', 'b', () => message('a', 'b', 1, 1), (m) => m.index === 1, 'expected a message before the cut');
      await cut.call(c.cluster, 'a', 'b');
      c.transport('a').send('b', [message('a', 'b', 1, 100)]);
      c.transport('b').send('a', [message('b', 'a', 1, 101)]);
      c.transport('a').send('c', [message('a', 'c', 1, 2)]);
      c.transport('b').send('c', [message('b', 'c', 1, 3)]);
      const inboxC = c.inbox('c');
      await inboxC.until('expected messages from a and b during the cut', () => inboxC.has((m) => m.index === 2) && inboxC.has((m) => m.index === 3));
      await heal.call(c.cluster);
      await c.resendUntil('a', 'b', () => message('a', 'b', 1, 4), (m) => m.index === 4, 'expected a message after heal');
      await c.resendUntil('b', 'a', () => message('b', 'a', 1, 5), (m) => m.index === 5, 'expected a reply after heal');
      assert.ok(!c.inbox('b').has((m) => m.index === 100), 'a message sent a → b during the cut arrived');
      assert.ok(!c.inbox('a').has((m) => m.index === 101), 'a message sent b → a during the cut arrived');
    });
  }

  if (supports.sizeLimit === true) {
    test('an oversized batch is refused or dropped and later sends still work', ['a', 'b'], async (c) => {
      const max = c.cluster.maxMessageBytes;
      assert.ok(max !== undefined && max > 0, 'supports.sizeLimit needs cluster.maxMessageBytes');
      const huge: Entry = { index: 1, term: 1, kind: EntryKind.Data, type: 'big', data: new Uint8Array(max + 1024), time: { physical: 1, counter: 0 } };
      try {
        c.transport('a').send('b', [message('a', 'b', 1, 1, { type: MessageType.Append, index: 0, entries: [huge] })]);
      } catch (error) {
        assert.ok(error instanceof Error, 'a refused send must throw an Error');
      }
      c.transport('a').send('b', [message('a', 'b', 1, 2)]);
      const inbox = c.inbox('b');
      await inbox.until('expected the small message after the oversized one', () => inbox.has((m) => m.index === 2));
      c.transport('a').send('b', [message('a', 'b', 1, 3)]);
      await inbox.until('expected a second small message', () => inbox.has((m) => m.index === 3));
      assert.ok(!inbox.has((m) => m.index === 1), 'the oversized batch was delivered');
    });
  }
}
