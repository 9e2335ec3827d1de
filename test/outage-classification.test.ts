/**
 * What the API calls an outage (503 with Retry-After, "try again shortly") and what it calls a fault
 * of its own (500), on real errors: a database nobody listens on, a Temporal port nobody listens on,
 * and a transaction that outlived its time limit on a healthy database — the last is a bug to
 * report, not an outage to wait out (Prisma P2028, whatever the driver adapter says).
 */
import { createPrisma } from '../services/db/client';
import { freePort } from '../services/devstack/ports';
import { outageOf } from '../services/health/outages';
import { createTemporalClient, withDeadline } from '../services/temporal/client';
import { testPrisma } from './support/fixtures';

const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (err: unknown) => err);

it('a database that refuses connections is the database being away', async () => {
  const away = createPrisma(`postgresql://mynaflow:x@127.0.0.1:${await freePort()}/none`);
  try {
    expect(outageOf(await failure(away.tenant.count()))).toBe('database');
  } finally {
    await away.$disconnect();
  }
});

it('a Temporal server that refuses connections is Temporal being away', async () => {
  const client = createTemporalClient(`127.0.0.1:${await freePort()}`, 'default');
  try {
    expect(outageOf(await failure(withDeadline(client, 1500, () => client.workflow.start('registrantWorkflow', { taskQueue: 'none', workflowId: 'none', args: [] }))))).toBe('temporal');
  } finally {
    await client.connection.close();
  }
});

it('a transaction past its time limit on a healthy database is not an outage (answered 500, not "retry shortly")', async () => {
  const prisma = testPrisma();
  try {
    const err = await failure(
      prisma.$transaction(
        async (tx) => {
          await new Promise((r) => setTimeout(r, 300));
          return tx.tenant.count();
        },
        { timeout: 50 },
      ),
    );
    expect(String((err as Error).message)).toMatch(/transaction/i);
    expect(outageOf(err)).toBeNull();
    expect(await prisma.tenant.count()).toBeGreaterThanOrEqual(0);
  } finally {
    await prisma.$disconnect();
  }
});
