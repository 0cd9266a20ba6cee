import type { Discovery } from '../ports/discovery.js';
import type { NodeId } from '../raft/message.js';
import { invalid } from '../runtime/validation.js';

/**
 * A {@link Discovery} over a fixed list of node ids, for tests, the simulator and clusters whose members
 * are known up front. `nodes()` returns the list in the order given.
 */
export class StaticDiscovery implements Discovery {
  private readonly list: readonly NodeId[];

  /** @param nodes every node of the cluster, the local one included: non-empty, unique, non-empty strings. */
  constructor(nodes: readonly NodeId[]) {
    if (!Array.isArray(nodes) || nodes.length === 0) {
      invalid('StaticDiscovery: nodes', 'must be a non-empty array of node ids (the local node included)');
    }
    const seen = new Set<NodeId>();
    nodes.forEach((node, i) => {
      if (typeof node !== 'string' || node === '') {
        invalid(`StaticDiscovery: nodes[${i}]`, `must be a non-empty string, got ${JSON.stringify(node)}`);
      }
      if (seen.has(node)) invalid(`StaticDiscovery: nodes[${i}]`, `repeats "${node}"; list each node once`);
      seen.add(node);
    });
    this.list = Object.freeze([...nodes]);
  }

  /** Fails when `self` is not in the list: a node must be one of the nodes it was configured with. */
  async start(self: NodeId): Promise<void> {
    if (!this.list.includes(self)) {
      throw new Error(
        `StaticDiscovery.start: node "${self}" is not in the node list [${this.list.join(', ')}]; add it to the list or fix its id`,
      );
    }
  }

  nodes(): readonly NodeId[] {
    return this.list;
  }

  async stop(): Promise<void> {}
}
