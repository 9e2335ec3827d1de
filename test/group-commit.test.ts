/**
 * The group committer behind history writes, single registrations and HOME's counts: what is asked
 * for while a group commits goes into the next group, in order; each caller hears of its own item
 * only; an error that is about no item (the database away) fails the group at once. The commit
 * function is a stand-in here (the database paths are tested in operation-history, the registrant
 * skeleton and the search API tests).
 */
import { createGroupCommitter } from '../services/db/group-commit';
import { databaseAway } from '../services/health/outages';

const tick = () => new Promise((r) => setTimeout(r, 5));

it('what arrives while a group commits goes into the next group, in the order asked, per key', async () => {
  const groups: string[][] = [];
  const add = createGroupCommitter<string, string>({
    max: 3,
    commit: async (key, items) => {
      groups.push(items.map((i) => `${key}:${i}`));
      await tick();
      return items.map((i) => i.toUpperCase());
    },
  });
  const answers = await Promise.all([add('a', 'x'), add('a', 'y'), add('a', 'z'), add('b', 'p'), add('a', 'w'), add('a', 'v'), add('a', 'u')]);
  expect(answers).toEqual(['X', 'Y', 'Z', 'P', 'W', 'V', 'U']);
  // The first of a key commits alone; the rest wait and go together, at most `max` at a time.
  expect(groups).toEqual([['a:x'], ['b:p'], ['a:y', 'a:z', 'a:w'], ['a:v', 'a:u']]);
});

it('a failing group is tried item by item: only the item at fault fails, the others are committed', async () => {
  const committed: string[] = [];
  const add = createGroupCommitter<string, void>({
    max: 10,
    commit: async (_key, items) => {
      await tick();
      if (items.includes('bad')) throw Object.assign(new Error('unique violation'), { code: 'P2002' });
      committed.push(...items);
      return items.map(() => undefined);
    },
    failsAsOne: databaseAway,
  });
  const first = add('t', 'first');
  const results = await Promise.allSettled([add('t', 'one'), add('t', 'bad'), add('t', 'two')]);
  await first;
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'P2002' });
  expect(committed).toEqual(['first', 'one', 'two']);
});

it('with the database away (unreachable, no pooled connection, the server shutting down) a group fails as one, each caller told, without a slow retry of every item', async () => {
  for (const code of ['P1001', 'P2024', '57P01']) {
    let calls = 0;
    const add = createGroupCommitter<number, void>({
      max: 10,
      commit: async (_key, items) => {
        calls++;
        await tick();
        if (items.length > 1 || items[0] !== 0) throw Object.assign(new Error('the database is away'), { code });
        return [undefined];
      },
      failsAsOne: databaseAway,
    });
    const first = add('t', 0);
    const rest = await Promise.allSettled([1, 2, 3, 4].map((n) => add('t', n)));
    await first;
    expect(rest.every((r) => r.status === 'rejected' && (r.reason as { code: string }).code === code)).toBe(true);
    // One commit for the first, one for the group of four: no retry of each.
    expect(calls).toBe(2);
  }
  expect(databaseAway(Object.assign(new Error('x'), { code: 'P2002' }))).toBe(false);
  expect(databaseAway(new Error('no code'))).toBe(false);
  // The same test the API uses to answer 503 DATABASE_UNAVAILABLE: a driver error naming the socket.
  expect(databaseAway(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { name: 'DriverAdapterError', code: 'P2010' }))).toBe(true);
});

it('after a failure the key takes new items again (nothing stays waiting)', async () => {
  let fail = true;
  const add = createGroupCommitter<string, string>({
    max: 5,
    commit: async (_key, items) => {
      await tick();
      if (fail) throw new Error('boom');
      return items;
    },
  });
  await expect(add('k', 'a')).rejects.toThrow('boom');
  fail = false;
  await expect(add('k', 'b')).resolves.toBe('b');
});
