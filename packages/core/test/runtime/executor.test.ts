import { Lane, PartitionExecutor } from '../../src/runtime/executor.js';

describe('PartitionExecutor', () => {
  test('runs higher-priority lanes first, in FIFO order within a lane', () => {
    const ex = new PartitionExecutor();
    const ran: string[] = [];
    ex.enqueue(Lane.Client, () => ran.push('client-1'));
    ex.enqueue(Lane.Maintenance, () => ran.push('maintenance'));
    ex.enqueue(Lane.Replication, () => ran.push('replication'));
    ex.enqueue(Lane.Client, () => ran.push('client-2'));
    ex.enqueue(Lane.Control, () => ran.push('control'));
    expect(ex.runBatch(100)).toBe(5);
    expect(ran).toEqual(['control', 'replication', 'client-1', 'client-2', 'maintenance']);
    expect(ex.size).toBe(0);
  });

  test('a control task queued by a client task runs before the next client task', () => {
    const ex = new PartitionExecutor();
    const ran: string[] = [];
    ex.enqueue(Lane.Client, () => {
      ran.push('client-1');
      ex.enqueue(Lane.Control, () => ran.push('tick'));
    });
    ex.enqueue(Lane.Client, () => ran.push('client-2'));
    ex.runBatch(100);
    expect(ran).toEqual(['client-1', 'tick', 'client-2']);
  });

  test('a flood of client tasks cannot starve control tasks across batches', () => {
    const ex = new PartitionExecutor();
    let clients = 0;
    for (let i = 0; i < 10_000; i++) ex.enqueue(Lane.Client, () => clients++);
    ex.runBatch(10);
    let ticked = false;
    ex.enqueue(Lane.Control, () => {
      ticked = true;
    });
    ex.runBatch(1);
    expect(ticked).toBe(true);
    expect(clients).toBe(10);
  });

  test('respects the budget and keeps the rest queued; clear drops everything', () => {
    const ex = new PartitionExecutor();
    let n = 0;
    for (let i = 0; i < 10_000; i++) ex.enqueue(Lane.Replication, () => n++);
    expect(ex.runBatch(256)).toBe(256);
    expect(ex.size).toBe(10_000 - 256);
    while (ex.size > 100) ex.runBatch(1000);
    expect(n).toBe(10_000 - ex.size);
    ex.clear();
    expect(ex.size).toBe(0);
    expect(ex.runBatch(10)).toBe(0);
  });
});
