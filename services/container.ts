/**
 * Builds every domain service from the infrastructure once, so the API process and the tests wire
 * the same graph.
 */
import type { Transporter } from 'nodemailer';
import { createHistory } from './audit/history';
import { createAuthService } from './auth/auth-service';
import type { PrismaClient } from './db/client';
import { createGroupService } from './groups/groups';
import { createLoginUserService } from './login-users/login-users';
import { createMyNumberService } from './registrants/my-number';
import { createInvitationQrService } from './registrants/invitation-qr';
import { createInvitationBatches } from './registrants/invitation-batches';
import { createDraftStore } from './registrants/draft-store';
import { createConnectorService } from './connectors/connectors';
import { createNumberPull } from './connectors/number-pull';
import { createWebhookService } from './connectors/webhooks';
import { createRegistrantSync } from './connectors/registrant-sync';
import { createRegistrationAccess } from './registration/access';
import { createRegistrationService } from './registration/registration';
import { createRegistrationSessions } from './registration/sessions';
import { createLifecycleService } from './registrants/lifecycle';
import { createRegistrantService } from './registrants/registrants';
import { createRegistrantDocumentService } from './registrants/documents';
import { createRegistrantCsvService } from './registrants/csv';
import { createNumbersImportService } from './registrants/numbers-import';
import { createImportJobs } from './registrants/import-jobs';
import { createBulkRegistrationService } from './registrants/bulk-registration';
import type { TemporalDeps } from './temporal/client';
import { createTenantSettingsService } from './tenants/settings';
import type { Vault } from './vault/types';
import { createTimeline } from './registrants/timeline';
import { createDashboard } from './registrants/dashboard';
import { createOperatorActions } from './operator/actions';
import { createOperatorAttention } from './operator/attention';

export interface Infrastructure {
  prisma: PrismaClient;
  temporal: TemporalDeps;
  vault: Vault;
  mailer: Transporter;
  mailFrom: string;
  publicUrl: string;
  inviteReminderDays: number[];
  loginLockMinutes: number;
  session: { idleMinutes: number; absoluteHours: number };
  /** Webhook receivers may be plain http:// (development only). */
  webhookAllowHttp?: boolean;
  now?: () => Date;
  /** Told when work done after an answer fails (auth's reminders and lock mails). */
  onBackgroundError?: (err: unknown, kind: string) => void;
  /** How long a lifecycle step may take before the API answers 202 (default 10 s). */
  stepAnswerWithinMs?: number;
}

export function createServices(infra: Infrastructure) {
  const { prisma, vault, mailer, mailFrom } = infra;
  const history = createHistory(prisma, vault);
  const auth = createAuthService({ prisma, vault, history, mailer, mailFrom, loginLockMinutes: infra.loginLockMinutes, session: infra.session, now: infra.now, onBackgroundError: infra.onBackgroundError });
  const lifecycle = createLifecycleService({ prisma, temporal: infra.temporal, inviteReminderDays: infra.inviteReminderDays, timings: { answerWithinMs: infra.stepAnswerWithinMs }, history });
  // Employees on a phone: a shorter idle time than HR's console, as phones are left lying around.
  const invitationQr = createInvitationQrService({ prisma, history, publicUrl: infra.publicUrl });
  const registrationSessions = createRegistrationSessions({ prisma, idleMinutes: Math.min(infra.session.idleMinutes, 30), absoluteHours: Math.min(infra.session.absoluteHours, 4), now: infra.now });
  return {
    history,
    auth,
    lifecycle,
    registrationSessions,
    connectors: createConnectorService({ prisma, history, now: infra.now }),
    numberPull: createNumberPull({ prisma, vault, history }),
    registrantSync: createRegistrantSync({ prisma, history, temporal: infra.temporal, lifecycle, inviteReminderDays: infra.inviteReminderDays }),
    webhooks: createWebhookService({ prisma, vault, allowHttp: infra.webhookAllowHttp }),
    registrationAccess: createRegistrationAccess({ prisma, history, sessions: registrationSessions, now: infra.now }),
    registration: createRegistrationService({ prisma, vault, drafts: createDraftStore({ prisma, vault }), lifecycle }),
    registrants: createRegistrantService({ prisma, history, vault, temporal: infra.temporal, inviteReminderDays: infra.inviteReminderDays }),
    registrantDocuments: createRegistrantDocumentService({ prisma, vault, history, confirmPassword: auth.confirmPassword }),
    groups: createGroupService({ prisma, history }),
    invitationQr,
    invitationBatches: createInvitationBatches({ prisma, lifecycle, qr: invitationQr }),
    myNumbers: createMyNumberService({ prisma, vault, history, confirmPassword: auth.confirmPassword }),
    bulkRegistration: createBulkRegistrationService({ prisma, history, vault, temporal: infra.temporal, inviteReminderDays: infra.inviteReminderDays }),
    registrantCsv: createRegistrantCsvService({ prisma, history, vault, temporal: infra.temporal, inviteReminderDays: infra.inviteReminderDays, confirmPassword: auth.confirmPassword }),
    numbersImport: createNumbersImportService({ prisma, history, vault, temporal: infra.temporal, inviteReminderDays: infra.inviteReminderDays, confirmPassword: auth.confirmPassword }),
    importJobs: createImportJobs({ prisma, history, vault, temporal: infra.temporal, confirmPassword: auth.confirmPassword }),
    loginUsers: createLoginUserService({ prisma, history, mailer, mailFrom, publicUrl: infra.publicUrl, loginLockMinutes: infra.loginLockMinutes, vault, confirmPassword: auth.confirmPassword, onMailError: infra.onBackgroundError }),
    tenantSettings: createTenantSettingsService({ prisma, history, vault, confirmPassword: auth.confirmPassword }),
    timeline: createTimeline({ prisma, temporal: infra.temporal }),
    dashboard: createDashboard({ prisma }),
    operatorAttention: createOperatorAttention({ prisma, temporal: infra.temporal }),
    operatorActions: createOperatorActions({ prisma, temporal: infra.temporal, history, inviteReminderDays: infra.inviteReminderDays }),
  };
}

export type Services = ReturnType<typeof createServices>;
