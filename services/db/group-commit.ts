/**
 * Group commit: writes asked for at once under one key (a tenant) go to the database together. The
 * first caller's item commits alone; every item of that key asked for meanwhile waits and goes into
 * the next group — one transaction, one lock, one round of statements for them all, in the order
 * asked. Each caller hears back once its own item committed.
 *
 * A group that fails is tried again item by item, so a caller hears only of its own item's failure
 * (one taken employee code must not fail the others' rows) — unless `failsAsOne` says the error is
 * not about any item (the database away: each would fail as slowly on its own).
 */
export interface GroupCommitOptions<T, R> {
  /** Commits the items of one key together; returns one result per item, in order. */
  commit(key: string, items: T[]): Promise<R[]>;
  /** Items committed together at most. */
  max: number;
  /** The error fails the whole group at once instead of each item being tried alone. */
  failsAsOne?(err: unknown): boolean;
}

interface Waiting<T, R> {
  item: T;
  resolve(result: R): void;
  reject(err: unknown): void;
}

export function createGroupCommitter<T, R>({ commit, max, failsAsOne = () => false }: GroupCommitOptions<T, R>): (key: string, item: T) => Promise<R> {
  const waiting = new Map<string, Waiting<T, R>[]>();
  const committing = new Set<string>();

  async function drain(key: string): Promise<void> {
    committing.add(key);
    try {
      for (let queue = waiting.get(key); queue?.length; queue = waiting.get(key)) {
        const group = queue.splice(0, max);
        if (!queue.length) waiting.delete(key);
        try {
          const results = await commit(key, group.map((w) => w.item));
          group.forEach((w, i) => w.resolve(results[i]!));
        } catch (err) {
          if (group.length === 1 || failsAsOne(err)) for (const w of group) w.reject(err);
          else {
            for (const w of group) {
              await commit(key, [w.item]).then(([r]) => w.resolve(r!), w.reject);
            }
          }
        }
      }
    } finally {
      committing.delete(key);
    }
  }

  return (key, item) =>
    new Promise<R>((resolve, reject) => {
      const queue = waiting.get(key) ?? [];
      queue.push({ item, resolve, reject });
      waiting.set(key, queue);
      if (!committing.has(key)) void drain(key);
    });
}
