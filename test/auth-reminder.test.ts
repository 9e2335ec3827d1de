/**
 * リマインダー on real PostgreSQL, vault, history and SMTP capture: password reset by a mailed
 * security code and the customer-number reminder. Neither tells whether an address has an account.
 */
import { randomUUID } from 'node:crypto';
import { CUSTOMER_NUMBER_SUBJECT, LOGIN_CODE_SUBJECT, PASSWORD_RESET_SUBJECT } from '../services/auth/auth-mail';
import { appError, codeOf, META, MINUTE, useAuthHarness, wrongCodeFor } from './support/auth-harness';

const harness = useAuthHarness();
const { service, newTenant, newUser, nextMail, taken, events, fullLogin } = harness;

describe('password reset', () => {
  test('mail → code → new password: the old one stops working, sessions end, the lock is lifted', async () => {
    const { auth } = service();
    const tenant = await newTenant('株式会社リセット');
    const user = await newUser({ tenantId: tenant.id, name: '再設定 次郎' });
    const { sessionToken } = await fullLogin(auth, user);
    for (let i = 0; i < 5; i++) await appError(auth.login({ email: user.email, password: 'wrong-password', ...META }));

    await expect(auth.requestPasswordReset({ email: user.email, ...META })).resolves.toBeUndefined();
    const mail = await nextMail(user.email, PASSWORD_RESET_SUBJECT);
    expect(mail.subject).toBe('【マイナンバー管理】パスワード再設定のお知らせ');
    expect(mail.text).toContain('株式会社リセット');
    expect(mail.text).toContain(tenant.customerNumber);
    expect(mail.text).toContain('再設定 次郎 様');

    await auth.resetPassword({ email: user.email, code: codeOf(mail), newPassword: 'Brand-New-Password', ...META });
    expect(await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ failedLogins: 0, lockedAt: null });
    expect(await auth.authenticate(sessionToken)).toBeNull();
    expect((await appError(auth.login({ email: user.email, password: user.password, ...META }))).code).toBe('INVALID_CREDENTIALS');
    await auth.login({ email: user.email, password: 'Brand-New-Password', ...META });
    await nextMail(user.email, LOGIN_CODE_SUBJECT);

    // The code was used up.
    expect(await appError(auth.resetPassword({ email: user.email, code: codeOf(mail), newPassword: 'Another-Password' }))).toMatchObject({ status: 400, code: 'INVALID_CODE' });
    expect(await events(tenant.id, 'password_reset_requested')).toHaveLength(1);
    expect(await events(tenant.id, 'password_reset')).toHaveLength(1);
  });

  test('no enumeration: an unknown address resolves the same way and nothing is sent', async () => {
    const { auth } = service();
    const user = await newUser();
    const unknown = `nobody-${randomUUID().slice(0, 8)}@example.co.jp`;
    const before = harness.outbox.mails.length;
    const known = await auth.requestPasswordReset({ email: user.email });
    const missing = await auth.requestPasswordReset({ email: unknown });
    expect(missing).toEqual(known);
    await auth.drain();
    await nextMail(user.email, PASSWORD_RESET_SUBJECT);
    expect(harness.outbox.mails.slice(before).filter((m) => m.to.some((t) => t.includes(unknown)))).toHaveLength(0);
    // And a code for the unknown address is just a wrong code.
    expect((await appError(auth.resetPassword({ email: unknown, code: '123456', newPassword: 'Whatever-Password' }))).code).toBe('INVALID_CODE');
  });

  test('a weak new password changes nothing: the old password works and the code stays usable', async () => {
    const { auth } = service();
    const user = await newUser();
    await auth.requestPasswordReset({ email: user.email });
    const code = codeOf(await nextMail(user.email, PASSWORD_RESET_SUBJECT));
    const err = await appError(auth.resetPassword({ email: user.email, code, newPassword: 'short' }));
    expect(err).toMatchObject({ status: 400, code: 'WEAK_PASSWORD', title: 'パスワードは8文字以上で入力してください' });
    await auth.login({ email: user.email, password: user.password, ...META });
    await nextMail(user.email, LOGIN_CODE_SUBJECT);
    await auth.resetPassword({ email: user.email, code, newPassword: 'Long-Enough-Now' });
    await auth.login({ email: user.email, password: 'Long-Enough-Now', ...META });
    await nextMail(user.email, LOGIN_CODE_SUBJECT);
  });

  test('5 wrong codes kill the code; a code expires after 10 minutes', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    await auth.requestPasswordReset({ email: user.email });
    const code = codeOf(await nextMail(user.email, PASSWORD_RESET_SUBJECT));
    for (let i = 0; i < 5; i++) {
      expect((await appError(auth.resetPassword({ email: user.email, code: wrongCodeFor(code), newPassword: 'Good-Password-1' }))).code).toBe('INVALID_CODE');
    }
    expect((await appError(auth.resetPassword({ email: user.email, code, newPassword: 'Good-Password-1' }))).code).toBe('INVALID_CODE');

    await auth.requestPasswordReset({ email: user.email });
    const fresh = codeOf(await nextMail(user.email, PASSWORD_RESET_SUBJECT));
    clock.advance(10 * MINUTE);
    expect((await appError(auth.resetPassword({ email: user.email, code: fresh, newPassword: 'Good-Password-1' }))).code).toBe('INVALID_CODE');
    // The old password still works after all that.
    await auth.login({ email: user.email, password: user.password, ...META });
    await nextMail(user.email, LOGIN_CODE_SUBJECT);
  });

  test('a new request kills the earlier code', async () => {
    const { auth } = service();
    const user = await newUser();
    await auth.requestPasswordReset({ email: user.email });
    const first = codeOf(await nextMail(user.email, PASSWORD_RESET_SUBJECT));
    await auth.requestPasswordReset({ email: user.email });
    const second = codeOf(await nextMail(user.email, PASSWORD_RESET_SUBJECT));
    if (first !== second) {
      expect((await appError(auth.resetPassword({ email: user.email, code: first, newPassword: 'Good-Password-2' }))).code).toBe('INVALID_CODE');
    }
    await auth.resetPassword({ email: user.email, code: second, newPassword: 'Good-Password-2' });
  });

  test('a reset code is not a login code', async () => {
    const { auth } = service();
    const user = await newUser();
    const res = await auth.login({ email: user.email, password: user.password, ...META });
    const loginCode = codeOf(await nextMail(user.email, LOGIN_CODE_SUBJECT));
    await auth.requestPasswordReset({ email: user.email });
    const resetCode = codeOf(await nextMail(user.email, PASSWORD_RESET_SUBJECT));
    if (resetCode !== loginCode) {
      expect((await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: resetCode, ...META }))).code).toBe('INVALID_CODE');
      expect((await appError(auth.resetPassword({ email: user.email, code: loginCode, newPassword: 'Good-Password-3' }))).code).toBe('INVALID_CODE');
    }
  });

  test('an address in several tenants: one mail per account, each naming its company; the code picks the account', async () => {
    const { auth } = service();
    const email = `multi-${randomUUID().slice(0, 8)}@example.co.jp`;
    const a = await newTenant('株式会社アルファ');
    const b = await newTenant('株式会社ブラボー');
    const userA = await newUser({ tenantId: a.id, email, password: 'password-of-A' });
    const userB = await newUser({ tenantId: b.id, email, password: 'password-of-B' });

    await auth.requestPasswordReset({ email });
    const mails = [await nextMail(email, PASSWORD_RESET_SUBJECT), await nextMail(email, PASSWORD_RESET_SUBJECT)];
    const mailB = mails.find((m) => m.text.includes('株式会社ブラボー'))!;
    expect(mails.find((m) => m.text.includes('株式会社アルファ'))).toBeDefined();

    await auth.resetPassword({ email, code: codeOf(mailB), newPassword: 'New-Password-For-B' });
    await auth.login({ email, password: 'New-Password-For-B', customerNumber: b.customerNumber, ...META });
    await nextMail(email, LOGIN_CODE_SUBJECT);
    await auth.login({ email, password: 'password-of-A', customerNumber: a.customerNumber, ...META });
    await nextMail(email, LOGIN_CODE_SUBJECT);
    expect(userA.id).not.toBe(userB.id);

    // With the customer number, only that account is mailed.
    await auth.requestPasswordReset({ email, customerNumber: a.customerNumber });
    const only = await nextMail(email, PASSWORD_RESET_SUBJECT);
    expect(only.text).toContain('株式会社アルファ');
    await auth.drain();
    expect(harness.outbox.mails.filter((m) => !taken.has(m.id) && m.to.some((t) => t.includes(email)))).toHaveLength(0);
  });
});

describe('customer-number reminder', () => {
  test('mail with a code → the customer numbers of every account of the address', async () => {
    const { auth } = service();
    const email = `remind-${randomUUID().slice(0, 8)}@example.co.jp`;
    const a = await newTenant('株式会社いろは');
    const b = await newTenant('株式会社にほへ');
    await newUser({ tenantId: a.id, email });
    await newUser({ tenantId: b.id, email: email.toUpperCase() });

    await auth.requestCustomerNumberReminder({ email, ...META });
    await auth.drain();
    const mail = await nextMail(email, CUSTOMER_NUMBER_SUBJECT);
    expect(mail.subject).toBe('【マイナンバー管理】お客様番号のお知らせ');
    // The mail holds only the code: the numbers are shown after it is entered.
    expect(mail.text).not.toContain(a.customerNumber);
    expect(mail.text).not.toContain(b.customerNumber);
    expect(harness.outbox.mails.filter((m) => !taken.has(m.id) && m.subject === CUSTOMER_NUMBER_SUBJECT && m.to.some((t) => t.toLowerCase().includes(email)))).toHaveLength(0);

    const code = codeOf(mail);
    expect(await appError(auth.revealCustomerNumbers({ email, code: wrongCodeFor(code) }))).toMatchObject({ status: 400, code: 'INVALID_CODE' });
    const numbers = await auth.revealCustomerNumbers({ email, code, ...META });
    expect(numbers).toEqual(
      expect.arrayContaining([
        { customerNumber: a.customerNumber, tenantName: '株式会社いろは' },
        { customerNumber: b.customerNumber, tenantName: '株式会社にほへ' },
      ]),
    );
    expect(numbers).toHaveLength(2);
    // Once only.
    expect((await appError(auth.revealCustomerNumbers({ email, code }))).code).toBe('INVALID_CODE');
    expect(await events(a.id, 'customer_number_reminded')).toHaveLength(1);
    expect(await events(b.id, 'customer_number_reminded')).toHaveLength(1);
  });

  test('an unknown address: same result, no mail, and no code can reveal anything', async () => {
    const { auth } = service();
    const unknown = `nobody-${randomUUID().slice(0, 8)}@example.co.jp`;
    await expect(auth.requestCustomerNumberReminder({ email: unknown })).resolves.toBeUndefined();
    await auth.drain();
    expect(harness.outbox.mails.filter((m) => m.to.some((t) => t.includes(unknown)))).toHaveLength(0);
    expect((await appError(auth.revealCustomerNumbers({ email: unknown, code: '000000' }))).code).toBe('INVALID_CODE');
  });

  test('a deleted login user is not reminded', async () => {
    const { auth } = service();
    const user = await newUser();
    await harness.prisma.loginUser.update({ where: { id: user.id }, data: { deletedAt: new Date() } });
    await auth.requestCustomerNumberReminder({ email: user.email });
    await auth.requestPasswordReset({ email: user.email });
    await auth.drain();
    expect(harness.outbox.mails.filter((m) => m.to.some((t) => t.includes(user.email)))).toHaveLength(0);
  });
});
