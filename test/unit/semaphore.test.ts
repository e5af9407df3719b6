import { describe, expect, it } from 'vitest';
import { QueueFullError, Semaphore } from '../../src/core/semaphore.js';

describe('Semaphore', () => {
  it('runs at most `limit` tasks at once, in arrival order, and passes results and errors through', async () => {
    const gate = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const task = (i: number) => async () => {
      started.push(i);
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      if (i === 3) throw new Error('task 3 failed');
      return i * 10;
    };
    const results = await Promise.allSettled([0, 1, 2, 3, 4, 5].map((i) => gate.run(task(i))));
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([0, 10, 20, 'task 3 failed', 40, 50]);
  });

  it('refuses new tasks at once when the queue is full', async () => {
    const gate = new Semaphore(1, 2);
    let open!: () => void;
    const blocker = new Promise<void>((resolve) => (open = resolve));
    const first = gate.run(() => blocker);
    const queued = [gate.run(async () => 1), gate.run(async () => 2)];
    await expect(gate.run(async () => 3)).rejects.toBeInstanceOf(QueueFullError);
    open();
    await first;
    expect(await Promise.all(queued)).toEqual([1, 2]);
  });

  it('refuses a limit below one', () => {
    expect(() => new Semaphore(0)).toThrow(TypeError);
  });
});
