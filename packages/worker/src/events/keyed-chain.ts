/**
 * Runs tasks one after another per key, in the order they were added, and
 * tasks of different keys at once. The event consumer chains the deliveries
 * of one job to one destination on it, so that a receiver gets a job's
 * events in the order they arrived (sequence order, in the normal path). A
 * task that fails does not stop the ones after it: each caller gets its own
 * task's outcome. Keys whose chain has run out are forgotten.
 */
export class KeyedChain {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    // The tail never rejects, so a failure is reported once, to its own caller.
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** Keys with a task queued or running (tests and diagnostics). */
  get size(): number {
    return this.tails.size;
  }
}
