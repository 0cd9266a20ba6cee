import { StaticDiscovery } from '../../src/memory/static-discovery.js';
import { InvalidArgumentError } from '../../src/runtime/validation.js';

describe('StaticDiscovery', () => {
  it('lists the nodes in the order given and starts for a listed node', async () => {
    const discovery = new StaticDiscovery(['n2', 'n1', 'n3']);
    await discovery.start('n1');
    expect(discovery.nodes()).toEqual(['n2', 'n1', 'n3']);
    await discovery.stop();
  });

  it('is not changed by later edits of the array it was given', () => {
    const nodes = ['a', 'b'];
    const discovery = new StaticDiscovery(nodes);
    nodes.push('c');
    expect(discovery.nodes()).toEqual(['a', 'b']);
  });

  it('fails to start for a node that is not listed, naming it', async () => {
    await expect(new StaticDiscovery(['a', 'b']).start('c')).rejects.toThrow(/node "c" is not in the node list \[a, b\]/);
  });

  it.each([
    ['an empty list', [], /non-empty array/],
    ['an empty id', ['a', ''], /nodes\[1\] must be a non-empty string/],
    ['a duplicate', ['a', 'b', 'a'], /nodes\[2\] repeats "a"/],
  ])('rejects %s', (_what, nodes, message) => {
    expect(() => new StaticDiscovery(nodes)).toThrow(InvalidArgumentError);
    expect(() => new StaticDiscovery(nodes)).toThrow(message);
  });
});
