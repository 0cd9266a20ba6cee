import type { Message, NodeId } from '../raft/message.js';
import type { Transport } from '../ports/transport.js';

/**
 * Collects the messages every partition produces during one scheduler turn and sends them as one frame
 * per peer, so a node with many partitions talks to each peer with a few large frames instead of many
 * small ones.
 */
export class Outbox {
  private readonly pending = new Map<NodeId, Message[]>();

  constructor(private readonly transport: Transport) {}

  get isEmpty(): boolean {
    return this.pending.size === 0;
  }

  add(message: Message): void {
    const list = this.pending.get(message.to);
    if (list === undefined) this.pending.set(message.to, [message]);
    else list.push(message);
  }

  addAll(messages: readonly Message[]): void {
    for (let i = 0; i < messages.length; i++) this.add(messages[i]!);
  }

  flush(): void {
    if (this.pending.size === 0) return;
    for (const [peer, messages] of this.pending) this.transport.send(peer, messages);
    this.pending.clear();
  }

  clear(): void {
    this.pending.clear();
  }
}
