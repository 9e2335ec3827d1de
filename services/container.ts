/**
 * Builds every domain service from the infrastructure once, so the API process and the tests wire
 * the same graph.
 */
import type { Transporter } from 'nodemailer';
import { createHistory } from './audit/history';
import { createAuthService } from './auth/auth-service';
import type { PrismaClient } from './db/client';
import { createLoginUserService } from './login-users/login-users';
import { createMyNumberService } from './registrants/my-number';
import { createInvitationQrService } from './registrants/invitation-qr';
import { createLifecycleService } from './registrants/lifecycle';
import { createRegistrantService } from './registrants/registrants';
import type { TemporalDeps } from './temporal/client';
import { createTenantSettingsService } from './tenants/settings';
import type { Vault } from './vault/types';

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
  now?: () => Date;
}

export function createServices(infra: Infrastructure) {
  const { prisma, vault, mailer, mailFrom } = infra;
  const history = createHistory(prisma);
  const auth = createAuthService({ prisma, vault, history, mailer, mailFrom, loginLockMinutes: infra.loginLockMinutes, session: infra.session, now: infra.now });
  return {
    history,
    auth,
    registrants: createRegistrantService({ prisma, history, temporal: infra.temporal, inviteReminderDays: infra.inviteReminderDays }),
    lifecycle: createLifecycleService({ prisma, temporal: infra.temporal, inviteReminderDays: infra.inviteReminderDays }),
    invitationQr: createInvitationQrService({ prisma, history, publicUrl: infra.publicUrl }),
    myNumbers: createMyNumberService({ prisma, vault, history, confirmPassword: auth.confirmPassword }),
    loginUsers: createLoginUserService({ prisma, history, mailer, mailFrom, publicUrl: infra.publicUrl, loginLockMinutes: infra.loginLockMinutes }),
    tenantSettings: createTenantSettingsService({ prisma, history }),
  };
}

export type Services = ReturnType<typeof createServices>;
