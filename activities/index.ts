/**
 * The side effects workflows ask for. Built from explicit dependencies so the worker and the tests
 * wire the same code to real PostgreSQL and SMTP.
 */
import type { Transporter } from 'nodemailer';
import type { PrismaClient } from '../services/db/client';
import type { Logger } from '../services/logging/logger';
import { createDeletionNoticeActivities } from './deletion-notices';
import { createImportJobActivities } from './import-jobs';
import { createInvitationActivities } from './invitations';
import { createLifecycleActivities } from './lifecycle';
import { createReconcilerActivities } from './reconciler';
import { createWebhookActivities } from './webhooks';
import type { Vault } from '../services/vault/types';

export interface ActivityDeps {
  prisma: PrismaClient;
  mailer: Transporter;
  publicUrl: string;
  mailFrom: string;
  logger: Logger;
  vault: Vault;
  /** Webhook receivers may be private addresses (development and tests only). */
  webhookAllowPrivate?: boolean;
  /** Reminder days of tenants without their own (the reconciler's starts). */
  inviteReminderDays?: number[];
}

export function createActivities(deps: ActivityDeps) {
  return { ...createInvitationActivities(deps), ...createLifecycleActivities(deps), ...createDeletionNoticeActivities(deps), ...createWebhookActivities(deps), ...createReconcilerActivities(deps), ...createImportJobActivities(deps) };
}
