/**
 * A login user's e-mail change, confirmed by the new address, and the password an owner sets for
 * another user (seed 001 ch. 5「PW変更」), over HTTP with the real SMTP capture:
 * - the change waits (login keeps the old address) until the link mailed to the new address is used
 *   once, within a day; the old address is told; resend replaces the link, cancel kills it; the user
 *   themself or whoever administers them asks, nobody else; the history has it, never the token;
 * - the password: owners only, behind their own password, the policy checked first; the user's
 *   sessions end, the user is mailed (never the password), the history has it (never the password).
 *
 * Everything works on tenants of its own (login_users and operation_events are shared by every file).
 */
import { randomBytes } from 'node:crypto';
import type { Role } from '../prisma/generated/client';
import { verifyPassword } from '../services/auth/passwords';
import { EMAIL_CHANGE_REQUESTED_SUBJECT, EMAIL_CHANGED_SUBJECT, EMAIL_CONFIRM_SUBJECT, PASSWORD_SET_SUBJECT } from '../services/login-users/login-user-mail';
import { useApiHarness } from './support/api-harness';
import { PUBLIC_URL, TEST_PASSWORD, type Agent, type TestUser } from './support/fixtures';
import { expectProblemDetails } from './support/problems';
import request from 'supertest';

const generous = { limit: 10_000, windowMinutes: 15 };
/** Addresses the mail server puts off (451) for now: a confirmation that cannot go out. */
const refused = new Set<string>();
const harness = useApiHarness({ taskQueue: 'login-users-email-password', authRateLimits: { attempts: generous, mailings: generous }, outbox: { rejectRecipient: (a) => (refused.has(a) ? 451 : false) } });

const address = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}@example.co.jp`;
const events = (tenantId: string, operation: string) => harness.prisma.operationEvent.findMany({ where: { tenantId, operation }, orderBy: { id: 'asc' } });
const row = (id: string) => harness.prisma.loginUser.findUniqueOrThrow({ where: { id } });
const mailTo = (email: string, subject: string) => harness.outbox.waitFor((m) => m.to.includes(email) && m.subject === subject);
const mailsTo = (email: string) => harness.outbox.mails.filter((m) => m.to.includes(email));
/** The token of the latest confirmation link mailed to `email`. */
const tokenFor = async (email: string, after = 0) => {
  const mail = await harness.outbox.waitFor((m) => m.to.includes(email) && m.subject === EMAIL_CONFIRM_SUBJECT && harness.outbox.mails.indexOf(m) >= after);
  const link = /https?:\/\/\S+/.exec(mail.text)![0];
  expect(link.startsWith(`${PUBLIC_URL}/console/#/email-confirmation?token=`)).toBe(true);
  return { token: new URLSearchParams(link.split('?')[1]).get('token')!, mail };
};
const ask = (agent: Agent, id: string, email: string, password = TEST_PASSWORD) => agent.post(`/v1/login-users/${id}/email-change`).send({ email, password });
const confirm = (token: string) => request(harness.app).post('/v1/auth/email-change/confirm').send({ token });
const loginStatus = (email: string, password: string) => request(harness.app).post('/v1/auth/login').send({ email, password }).then((r) => r.status);

const company = (name: string, roles: Role[]) => harness.company(name, roles);

describe('e-mail change', () => {
  it('needs the caller\'s own password: a wrong one is counted, nothing waits, nothing is mailed or recorded', async () => {
    const c = await company('メール本人確認株式会社', ['owner', 'viewer']);
    const [, viewer] = c.users as [TestUser, TestUser];
    const next = address('pw');
    expectProblemDetails(await ask(c.agents[1]!, viewer.id, next, `${TEST_PASSWORD}x`), 400, 'PASSWORD_INCORRECT');
    expect(await row(viewer.id)).toMatchObject({ pendingEmail: null, failedLogins: 1 });
    expect(await c.agents[1]!.post(`/v1/login-users/${viewer.id}/email-change`).send({ email: next }).then((r) => r.status)).toBe(400);
    expect(mailsTo(next)).toEqual([]);
    expect(await events(c.id, 'login_user_email_change_requested')).toEqual([]);
    await ask(c.agents[1]!, viewer.id, next).expect(200);
  });

  it('a confirmation the mail server cannot take changes nothing: 503 means not done (no address waiting, nothing recorded); a resend that cannot go keeps the earlier link working', async () => {
    const c = await company('メール不達株式会社', ['owner', 'manager']);
    const [, manager] = c.users as [TestUser, TestUser];
    const next = address('later');
    refused.add(next);
    expectProblemDetails(await ask(c.agents[0]!, manager.id, next), 503, 'MAIL_UNAVAILABLE');
    expect(await row(manager.id)).toMatchObject({ email: manager.email, pendingEmail: null, pendingEmailTokenHash: null });
    expect(await events(c.id, 'login_user_email_change_requested')).toEqual([]);

    // The server takes it now: the change waits with a working link. Then a resend is put off:
    // 503, and the link already mailed still confirms.
    refused.delete(next);
    await ask(c.agents[0]!, manager.id, next).expect(200);
    const { token } = await tokenFor(next);
    refused.add(next);
    expectProblemDetails(await c.agents[0]!.post(`/v1/login-users/${manager.id}/email-change/resend`), 503, 'MAIL_UNAVAILABLE');
    expect(await events(c.id, 'login_user_email_change_requested')).toHaveLength(1);
    refused.delete(next);
    await confirm(token).expect(204);
    expect((await row(manager.id)).email).toBe(next);
  });

  it('an owner changes a manager\'s address: it waits (login keeps the old one) until the link mailed to the new one is used, once; the old address is told twice; recorded without the token', async () => {
    const c = await company('メール変更株式会社', ['owner', 'manager']);
    const [owner, manager] = c.users as [TestUser, TestUser];
    const next = address('new');
    const res = await ask(c.agents[0]!, manager.id, `  ${next.toUpperCase()} `);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: manager.id, email: manager.email, pendingEmail: next });
    const expires = new Date(res.body.pendingEmailExpiresAt as string).getTime();
    expect(Math.abs(expires - Date.now() - 24 * 3_600_000)).toBeLessThan(60_000);

    const { token, mail } = await tokenFor(next);
    expect(mail.text).toContain('メール変 owner1');
    const notice = await mailTo(manager.email, EMAIL_CHANGE_REQUESTED_SUBJECT);
    expect(notice.text).toContain(next);
    expect(notice.text).not.toContain(token);
    // Only the hash is stored.
    const stored = await row(manager.id);
    expect(stored.pendingEmailTokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(token);
    // Until confirmed, the old address logs in and the new one does not.
    expect(await loginStatus(manager.email, manager.password)).toBe(200);
    expect(await loginStatus(next, manager.password)).toBe(401);
    // The list shows it waiting.
    const listed = (await c.agents[1]!.get('/v1/login-users')).body as { id: string; pendingEmail: string | null }[];
    expect(listed.find((u) => u.id === manager.id)!.pendingEmail).toBe(next);

    expect((await confirm(token)).status).toBe(204);
    const after = await row(manager.id);
    expect(after).toMatchObject({ email: next, pendingEmail: null, pendingEmailTokenHash: null, pendingEmailExpiresAt: null });
    expect(await loginStatus(next, manager.password)).toBe(200);
    expect(await loginStatus(manager.email, manager.password)).toBe(401);
    expect((await mailTo(manager.email, EMAIL_CHANGED_SUBJECT)).text).toContain(next);
    // One use only.
    expectProblemDetails(await confirm(token), 400, 'EMAIL_CHANGE_LINK_INVALID');

    const [asked] = await events(c.id, 'login_user_email_change_requested');
    expect(asked).toMatchObject({ actorId: owner.id });
    expect(asked!.detail).toMatchObject({ loginUserId: manager.id, from: manager.email, to: next });
    const [changed] = await events(c.id, 'login_user_email_changed');
    expect(changed).toMatchObject({ actorId: manager.id });
    expect(changed!.detail).toMatchObject({ from: manager.email, to: next });
    const all = JSON.stringify((await harness.prisma.operationEvent.findMany({ where: { tenantId: c.id } })).map((e) => e.detail));
    expect(all).not.toContain(token);
    expect(all).not.toContain(stored.pendingEmailTokenHash!);
  });

  it('a viewer changes their own address but nobody else\'s; a manager not an owner\'s (403, nothing waits)', async () => {
    const c = await company('メール権限株式会社', ['owner', 'manager', 'viewer']);
    const [owner, manager, viewer] = c.users as [TestUser, TestUser, TestUser];
    const [, mAgent, vAgent] = c.agents as [Agent, Agent, Agent];
    expectProblemDetails(await ask(vAgent, manager.id, address('x')), 403, 'FORBIDDEN');
    expectProblemDetails(await ask(mAgent, owner.id, address('x')), 403, 'FORBIDDEN');
    expect((await row(manager.id)).pendingEmail).toBeNull();
    expect((await row(owner.id)).pendingEmail).toBeNull();
    const mine = address('viewer-new');
    // Their id written in capitals is still their own.
    const res = await ask(vAgent, viewer.id.toUpperCase(), mine);
    expect(res.status).toBe(200);
    expect(res.body.pendingEmail).toBe(mine);
    expect((await confirm((await tokenFor(mine)).token)).status).toBe(204);
    expect((await vAgent.get('/v1/auth/me')).body.user.email).toBe(mine);
  });

  it('refuses the same address, a taken one (any case), a malformed one: nothing waits, nothing is mailed or recorded', async () => {
    const c = await company('メール拒否株式会社', ['owner', 'manager']);
    const [owner, manager] = c.users as [TestUser, TestUser];
    const agent = c.agents[0]!;
    const before = harness.outbox.mails.length;
    expectProblemDetails(await ask(agent, manager.id, manager.email.toUpperCase()), 400, 'VALIDATION_FAILED');
    expectProblemDetails(await ask(agent, manager.id, owner.email.toUpperCase()), 409, 'LOGIN_USER_EMAIL_TAKEN');
    const bad = await ask(agent, manager.id, 'not-an-address');
    expectProblemDetails(bad, 400, 'VALIDATION_FAILED');
    expect(bad.body.title).toBe('入力内容に誤りがあります');
    expect((await row(manager.id)).pendingEmail).toBeNull();
    expect(await events(c.id, 'login_user_email_change_requested')).toHaveLength(0);
    expect(harness.outbox.mails.length).toBe(before);
  });

  it('resend: a new link, the old one dead; cancel: the link dead, nothing waits; an expired link is refused; an address taken meanwhile is refused at confirmation', async () => {
    const c = await company('メール再送株式会社', ['owner', 'manager', 'viewer']);
    const [, manager, viewer] = c.users as [TestUser, TestUser, TestUser];
    const agent = c.agents[0]!;
    const next = address('resend');
    await ask(agent, manager.id, next).expect(200);
    const first = await tokenFor(next);
    const mark = harness.outbox.mails.length;
    expect((await agent.post(`/v1/login-users/${manager.id}/email-change/resend`)).status).toBe(200);
    const second = await tokenFor(next, mark);
    expect(second.token).not.toBe(first.token);
    expectProblemDetails(await confirm(first.token), 400, 'EMAIL_CHANGE_LINK_INVALID');

    const cancelled = await agent.delete(`/v1/login-users/${manager.id}/email-change`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ pendingEmail: null, pendingEmailExpiresAt: null });
    expectProblemDetails(await confirm(second.token), 400, 'EMAIL_CHANGE_LINK_INVALID');
    expect((await row(manager.id)).email).toBe(manager.email);
    expectProblemDetails(await agent.delete(`/v1/login-users/${manager.id}/email-change`), 409, 'NO_EMAIL_CHANGE_PENDING');
    expectProblemDetails(await agent.post(`/v1/login-users/${manager.id}/email-change/resend`), 409, 'NO_EMAIL_CHANGE_PENDING');
    expect(await events(c.id, 'login_user_email_change_cancelled')).toHaveLength(1);

    // Expired: a day has passed.
    const late = address('late');
    await ask(agent, manager.id, late).expect(200);
    const lateToken = (await tokenFor(late)).token;
    await harness.prisma.loginUser.update({ where: { id: manager.id }, data: { pendingEmailExpiresAt: new Date(Date.now() - 1000) } });
    expectProblemDetails(await confirm(lateToken), 400, 'EMAIL_CHANGE_LINK_INVALID');
    expect((await row(manager.id)).email).toBe(manager.email);

    // Taken meanwhile by another user of the tenant.
    const contested = address('contested');
    await ask(agent, manager.id, contested).expect(200);
    const contestedToken = (await tokenFor(contested)).token;
    await harness.prisma.loginUser.update({ where: { id: viewer.id }, data: { email: contested } });
    expectProblemDetails(await confirm(contestedToken), 409, 'LOGIN_USER_EMAIL_TAKEN');
    expect((await row(manager.id)).email).toBe(manager.email);
    expectProblemDetails(await confirm('x'.repeat(43)), 400, 'EMAIL_CHANGE_LINK_INVALID');
    expect((await request(harness.app).post('/v1/auth/email-change/confirm').send({})).status).toBe(400);
  });
});

describe('an owner sets another user\'s password (PW変更)', () => {
  const setPassword = (agent: Agent, id: string, body: Record<string, unknown>) => agent.post(`/v1/login-users/${id}/password`).send(body);

  it('behind the owner\'s password: the user\'s sessions end, the new password works, the user is mailed, recorded without the password', async () => {
    const c = await company('PW変更株式会社', ['owner', 'manager']);
    const [owner, manager] = c.users as [TestUser, TestUser];
    const [oAgent, mAgent] = c.agents as [Agent, Agent];
    const fresh = `Atarashii-${randomBytes(4).toString('hex')}`;
    expect((await setPassword(oAgent, manager.id, { password: owner.password, newPassword: fresh })).status).toBe(204);
    expect(await verifyPassword(fresh, (await row(manager.id)).passwordHash)).toBe(true);
    expect((await mAgent.get('/v1/auth/me')).status).toBe(401);
    expect(await harness.prisma.session.count({ where: { loginUserId: manager.id } })).toBe(0);
    expect(await loginStatus(manager.email, fresh)).toBe(200);
    // The owner's own session goes on.
    expect((await oAgent.get('/v1/auth/me')).status).toBe(200);

    const mail = await mailTo(manager.email, PASSWORD_SET_SUBJECT);
    expect(mail.text).toContain('PW変更 owner1');
    expect(mail.text).not.toContain(fresh);
    const [event] = await events(c.id, 'login_user_password_set');
    expect(event).toMatchObject({ actorId: owner.id });
    expect(event!.detail).toMatchObject({ loginUserId: manager.id, revokedSessions: 1 });
    expect(JSON.stringify((await harness.prisma.operationEvent.findMany({ where: { tenantId: c.id } })).map((e) => e.detail))).not.toContain(fresh);
  });

  it('a wrong owner password (counted), a weak new password (not counted), oneself, a manager or viewer: refused, nothing changed or mailed', async () => {
    const c = await company('PW拒否株式会社', ['owner', 'manager', 'viewer']);
    const [owner, manager, viewer] = c.users as [TestUser, TestUser, TestUser];
    const [oAgent, mAgent, vAgent] = c.agents as [Agent, Agent, Agent];
    const before = (await row(viewer.id)).passwordHash;
    const mails = mailsTo(viewer.email).length;
    expectProblemDetails(await setPassword(oAgent, viewer.id, { password: owner.password, newPassword: 'short' }), 400, 'WEAK_PASSWORD');
    expect((await row(owner.id)).failedLogins).toBe(0);
    expectProblemDetails(await setPassword(oAgent, viewer.id, { password: `${owner.password}x`, newPassword: 'Long-enough-1' }), 400, 'PASSWORD_INCORRECT');
    expect((await row(owner.id)).failedLogins).toBe(1);
    expectProblemDetails(await setPassword(oAgent, owner.id, { password: owner.password, newPassword: 'Long-enough-1' }), 409, 'OWN_PASSWORD');
    for (const agent of [mAgent, vAgent]) {
      const res = await setPassword(agent, viewer.id, { password: manager.password, newPassword: 'Long-enough-1' });
      expectProblemDetails(res, 403, 'FORBIDDEN');
    }
    expectProblemDetails(await setPassword(oAgent, '00000000-0000-4000-8000-000000000000', { password: owner.password, newPassword: 'Long-enough-1' }), 404, 'LOGIN_USER_NOT_FOUND');
    expect((await row(viewer.id)).passwordHash).toBe(before);
    expect((await vAgent.get('/v1/auth/me')).status).toBe(200);
    expect(mailsTo(viewer.email).length).toBe(mails);
    expect(await events(c.id, 'login_user_password_set')).toHaveLength(0);
  });
});
