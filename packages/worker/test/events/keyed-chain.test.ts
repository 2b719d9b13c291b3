import { describe, expect, it } from 'vitest';
import { KeyedChain } from '../../src/events/keyed-chain.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('KeyedChain', () => {
  it('runs the tasks of one key in the order they were added, each after the previous settled', async () => {
    const chain = new KeyedChain();
    const order: string[] = [];
    const gate = deferred();
    const first = chain.run('job:a', async () => {
      await gate.promise;
      order.push('a1');
    });
    const second = chain.run('job:a', async () => {
      order.push('a2');
    });
    const other = chain.run('job:b', async () => {
      order.push('b1');
    });
    await other;
    // b is not held behind a; a2 waits for a1.
    expect(order).toEqual(['b1']);
    gate.resolve();
    await Promise.all([first, second]);
    expect(order).toEqual(['b1', 'a1', 'a2']);
  });

  it("reports a task's failure to its own caller only, and goes on with the next", async () => {
    const chain = new KeyedChain();
    const failing = chain.run('k', async () => {
      throw new Error('boom');
    });
    const next = chain.run('k', async () => 'ok');
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
  });

  it('forgets a key once its chain has run out', async () => {
    const chain = new KeyedChain();
    await chain.run('k', async () => undefined);
    await new Promise((r) => setImmediate(r));
    expect(chain.size).toBe(0);
  });
});
