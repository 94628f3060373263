/** Wakes long-polling fetches when data is appended to a partition they wait on. */
export class AppendWaiters {
  private readonly waiting = new Map<string, Set<() => void>>();

  private static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  /** Calls `wake` once on the next append to any of the partitions; returns a cancel function. */
  wait(partitions: Array<{ topic: string; partition: number }>, wake: () => void): () => void {
    let fired = false;
    const keys = partitions.map((p) => AppendWaiters.key(p.topic, p.partition));
    const once = () => {
      if (fired) return;
      fired = true;
      cancel();
      wake();
    };
    const cancel = () => {
      for (const k of keys) {
        const set = this.waiting.get(k);
        if (!set) continue;
        set.delete(once);
        if (set.size === 0) this.waiting.delete(k);
      }
    };
    for (const k of keys) {
      let set = this.waiting.get(k);
      if (!set) {
        set = new Set();
        this.waiting.set(k, set);
      }
      set.add(once);
    }
    return cancel;
  }

  notify(topic: string, partition: number): void {
    const set = this.waiting.get(AppendWaiters.key(topic, partition));
    if (!set) return;
    for (const fn of [...set]) fn();
  }

  /** Wakes everyone (shutdown). */
  wakeAll(): void {
    for (const set of [...this.waiting.values()]) for (const fn of [...set]) fn();
  }
}
