/** Helpers for tests that drive registrants' lifecycle workflows directly (as the API does). */
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import pg from 'pg';
import type { PrismaClient } from '../../services/db/client';
import { createDraftStore } from '../../services/registrants/draft-store';
import { testVault } from './fixtures';
import { randomMyNumber } from './leak-scan';
import { until } from './until';

/** A 1×1 PNG: what the draft store accepts as a document photo. */
export const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5a1e5e40000000049454e44ae426082', 'hex');

/** A whole draft: a valid number, gender, birth date and both sides of a My Number card. */
export async function completeDraft(prisma: PrismaClient, registrantId: string, myNumber = randomMyNumber()): Promise<string> {
  const store = createDraftStore({ prisma, vault: testVault(prisma) });
  await store.save(registrantId, { myNumber, gender: 'female', birthDate: '1990-04-01', dependents: [], removedDocumentIds: [], removedDependentIds: [] });
  for (const side of ['front', 'back'] as const) {
    await store.addDocument(registrantId, { purpose: 'identity', type: 'my_number_card', side, mimeType: 'image/png', image: PNG });
  }
  return myNumber;
}

/** The update's refusal: the validator's code, or an activity's business error type. */
export async function refusal(p: Promise<unknown>): Promise<{ type?: string; message: string; details?: unknown[] }> {
  const err = await p.then(
    () => {
      throw new Error('expected the update to be refused');
    },
    (e: unknown) => e,
  );
  if (!(err instanceof WorkflowUpdateFailedError) || !(err.cause instanceof ApplicationFailure)) throw err;
  const inner = err.cause;
  return { type: inner.type ?? undefined, message: inner.message, details: inner.details ?? undefined };
}

/**
 * Holds the registrant's row lock from another connection, as a long transaction of someone else's
 * would: every lifecycle activity of the person waits for it (they all lock the row first).
 */
export async function holdRow(registrantId: string, databaseUrl = process.env.DATABASE_URL!): Promise<{ release(): Promise<void> }> {
  return holdTableRow('registrants', registrantId, databaseUrl);
}

/** Locks a row of `table` (by id) from a connection of its own until released. */
export async function holdTableRow(table: 'registrants' | 'import_jobs', id: string, databaseUrl = process.env.DATABASE_URL!): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('BEGIN');
  await client.query(`SELECT id FROM ${table} WHERE id = $1 FOR UPDATE`, [id]);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await client.query('COMMIT');
      await client.end();
    },
  };
}

/** Waits until the workflow has an activity of this type running (started by a worker). */
export async function activityRunning(handle: WorkflowHandle, type: string): Promise<void> {
  await until(async () => {
    const { raw } = await handle.describe();
    return (raw.pendingActivities ?? []).some((a) => a.activityType?.name === type && a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
  }, `a ${type} activity to be running`);
}
