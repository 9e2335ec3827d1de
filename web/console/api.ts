/**
 * The API as the console calls it: the same operations any client has (openapi/openapi.yaml), typed
 * from the generated contract. The CSRF token comes with GET /v1/auth/me and the login steps.
 */
import type { components, paths } from '../../api/generated/openapi';
import { configureHttp, query, request, requestFile, requestIdempotent, requestStep, setCsrf } from '../shared/http';

export { ApiError, StepPending } from '../shared/http';
export type Schemas = components['schemas'];
export type Me = Schemas['Me'];
export type Registrant = Schemas['Registrant'];
export type RegistrantItem = Schemas['RegistrantListItem'];
export type Dependent = Schemas['DependentSummary'];

type Json<P extends keyof paths, M extends keyof paths[P], S extends number = 200> = paths[P][M] extends { responses: Record<S, { content: { 'application/json': infer T } }> } ? T : never;
type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { requestBody?: { content: { 'application/json': infer T } } } ? T : never;

export type ListQuery = Partial<Record<'status' | 'dependentsStatus' | 'category' | 'groupId' | 'employeeCode' | 'retired' | 'retiring' | 'name' | 'email' | 'retirementMonth' | 'deletionMonth' | 'sort' | 'cursor' | 'limit' | 'withTotal', string>>;
export type HistoryQuery = Partial<Record<'from' | 'to' | 'actor' | 'registrant' | 'operation' | 'cursor' | 'limit', string>>;

export interface Group {
  id: string;
  name: string;
  memberCount: number;
  createdAt: string;
}
export interface Summary {
  registrants: Record<'total' | 'unregistered' | 'pending' | 'remanded' | 'completed' | 'refused' | 'retired', number>;
  dependents: Record<'total' | 'unregistered' | 'pending' | 'remanded' | 'completed' | 'refused', number>;
}
export interface HrDocument {
  /** The image shows the number: opened only behind the password and a reason. */
  showsNumber: boolean;
  id: string;
  dependentId: string | null;
  purpose: Schemas['DocumentPurpose'];
  type: Schemas['DocumentType'];
  side: 'front' | 'back';
  mimeType: string;
  byteSize: number;
  createdAt: string;
  /** Sent with a change HR has not decided yet (beside the approved images it did not replace). */
  pendingChange: boolean;
}

configureHttp({ offline: '通信できませんでした。ネットワークの接続を確認して、もう一度お試しください' });

const id = (s: string) => encodeURIComponent(s);

function importForm(file: Blob, opts: { dryRun: boolean; password?: string; reason?: string }): FormData {
  const form = new FormData();
  form.append('file', file, 'numbers.csv');
  form.append('dryRun', String(opts.dryRun));
  if (opts.password !== undefined) form.append('password', opts.password);
  if (opts.reason !== undefined) form.append('reason', opts.reason);
  return form;
}
const r = (registrantId: string, rest = '') => `/v1/registrants/${id(registrantId)}${rest}`;

export const api = {
  // ---------------------------------------------------------------- login
  me: async (): Promise<Me> => {
    const me = await request<Me>('GET', '/v1/auth/me');
    setCsrf(me.csrfToken);
    return me;
  },
  login: async (body: Body<'/v1/auth/login', 'post'>) => {
    const res = await request<Json<'/v1/auth/login', 'post'>>('POST', '/v1/auth/login', body);
    setCsrf(res.csrfToken);
    return res;
  },
  secondFactor: async (code: string): Promise<Me> => {
    const me = await request<Me>('POST', '/v1/auth/second-factor', { code });
    setCsrf(me.csrfToken);
    return me;
  },
  resendCode: () => request<void>('POST', '/v1/auth/second-factor/resend'),
  logout: () => request<void>('POST', '/v1/auth/logout'),
  changePassword: (body: Body<'/v1/auth/password', 'post'>) => request<void>('POST', '/v1/auth/password', body),
  requestPasswordReset: (body: Body<'/v1/auth/password-reset/request', 'post'>) => request<void>('POST', '/v1/auth/password-reset/request', body),
  resetPassword: (body: Body<'/v1/auth/password-reset', 'post'>) => request<void>('POST', '/v1/auth/password-reset', body),
  requestCustomerNumber: (email: string) => request<void>('POST', '/v1/auth/customer-number/request', { email }),
  customerNumbers: (body: Body<'/v1/auth/customer-number', 'post'>) => request<Json<'/v1/auth/customer-number', 'post'>>('POST', '/v1/auth/customer-number', body),
  startTotp: (password: string) => request<Json<'/v1/auth/totp/enrolment', 'post'>>('POST', '/v1/auth/totp/enrolment', { password }),
  confirmTotp: async (code: string): Promise<Me> => {
    const me = await request<Me>('POST', '/v1/auth/totp/enrolment/confirm', { code });
    setCsrf(me.csrfToken);
    return me;
  },
  startEmailMethod: () => request<void>('POST', '/v1/auth/email-method'),
  confirmEmailMethod: async (code: string): Promise<Me> => {
    const me = await request<Me>('POST', '/v1/auth/email-method/confirm', { code });
    setCsrf(me.csrfToken);
    return me;
  },

  // ---------------------------------------------------------------- registrants
  summary: () => request<Summary>('GET', '/v1/registrants/summary'),
  list: (q: ListQuery) => request<Json<'/v1/registrants', 'get'>>('GET', `/v1/registrants${query(q)}`),
  get: (registrantId: string) => request<RegistrantItem>('GET', r(registrantId)),
  // Sent with an Idempotency-Key: a lost answer is asked again and nobody is stored twice.
  create: async (body: Schemas['RegistrantCreate']) => (await requestIdempotent<Registrant>('POST', '/v1/registrants', body)).body,
  update: (registrantId: string, body: Record<string, unknown>) => request<Registrant>('PATCH', r(registrantId), body),
  updateDependent: (registrantId: string, dependentId: string, body: Record<string, unknown>) => request<Registrant>('PATCH', r(registrantId, `/dependents/${id(dependentId)}`), body),
  documents: (registrantId: string) => request<HrDocument[]>('GET', r(registrantId, '/documents')),
  uploadDocument: (registrantId: string, slot: { purpose: string; type: string; side: string; dependentId?: string }, image: Blob) =>
    request<HrDocument>('POST', `${r(registrantId, '/documents')}${query(slot)}`, image, 'application/octet-stream'),
  documentImageUrl: (registrantId: string, documentId: string) => r(registrantId, `/documents/${id(documentId)}/image`),
  revealDocumentImage: (registrantId: string, documentId: string, body: Schemas['DocumentRevealRequest']) => requestFile('POST', r(registrantId, `/documents/${id(documentId)}/image/reveal`), body, undefined, 'image/*'),
  consents: (registrantId: string) => request<Json<'/v1/registrants/{registrantId}/consents', 'get'>>('GET', r(registrantId, '/consents')),
  invite: (registrantId: string, body: Schemas['InviteOptions']) => requestStep<Registrant>('POST', r(registrantId, '/invitation'), body),
  reviewInvitations: (body: Schemas['InvitationReview']) => request<Schemas['InvitationReviewResult']>('POST', '/v1/registrants/invitation-review', body),
  paperInvitations: (body: Schemas['PaperInvitations']) => request<Schemas['PaperInvitationResult']>('POST', '/v1/registrants/paper-invitations', body),
  inviteMany: (body: Schemas['BulkInvite']) => requestStep<Schemas['BulkInviteResult']>('POST', '/v1/registrants/invitations', body),
  resetRegistrantPassword: (registrantId: string) => request<void>('POST', r(registrantId, '/password-reset')),
  withdraw: (registrantId: string) => requestStep<Registrant>('POST', r(registrantId, '/withdraw')),
  qr: (registrantId: string) => requestFile('POST', r(registrantId, '/invitation/qr?format=svg'), undefined, undefined, 'image/svg+xml'),
  approve: (registrantId: string, dependentId?: string) => requestStep<Registrant>('POST', r(registrantId, '/approval'), dependentId ? { dependentId } : {}),
  remand: (registrantId: string, body: Schemas['Remand']) => requestStep<Registrant>('POST', r(registrantId, '/remand'), body),
  refuse: (registrantId: string, body: Schemas['Refusal']) => requestStep<Registrant>('POST', r(registrantId, '/refusal'), body),
  changeStatus: (registrantId: string, body: Schemas['StatusChange']) => requestStep<Registrant>('POST', r(registrantId, '/status'), body),
  unlock: (registrantId: string) => requestStep<Registrant>('POST', r(registrantId, '/login-unlock')),
  setRetirement: (registrantId: string, body: Schemas['Retirement']) => requestStep<Registrant>('PUT', r(registrantId, '/retirement'), body),
  scheduleDeletion: (registrantId: string, body: Schemas['DeletionSchedule']) => requestStep<Registrant>('PUT', r(registrantId, '/deletion-schedule'), body),
  cancelDeletion: (registrantId: string) => requestStep<Registrant>('DELETE', r(registrantId, '/deletion-schedule')),
  deleteNow: (registrantId: string, body: Schemas['ImmediateDeletion']) => requestStep<Registrant>('POST', r(registrantId, '/deletion'), body),
  confirmDeletion: (registrantId: string, body: Schemas['PasswordConfirmation']) => requestStep<Registrant>('POST', r(registrantId, '/deletion/confirmation'), body),
  timeline: (registrantId: string) => request<Schemas['Timeline']>('GET', r(registrantId, '/timeline')),
  dashboard: () => request<Schemas['Dashboard']>('GET', '/v1/dashboard'),
  extendLink: (registrantId: string, days: number) => requestStep<Registrant>('POST', r(registrantId, '/invitation/extension'), { days }),
  remindNow: (registrantId: string) => requestStep<Registrant>('POST', r(registrantId, '/reminder')),
  // ---------------------------------------------------------------- operator (owners)
  operatorAttention: () => request<Schemas['OperatorAttention']>('GET', '/v1/operator/attention'),
  retryNow: (registrantId: string) => requestStep<Registrant>('POST', `/v1/operator/registrants/${id(registrantId)}/retry`),
  revive: (registrantId: string) => request<Schemas['Revival']>('POST', `/v1/operator/registrants/${id(registrantId)}/revival`),
  redeliver: (deliveryId: string) => request<Schemas['Redelivery']>('POST', `/v1/operator/webhook-deliveries/${id(deliveryId)}/redelivery`),
  setMailPause: (paused: boolean) => request<Schemas['MailPauseResult']>('PUT', '/v1/operator/mail-pause', { paused }),
  reveal: (registrantId: string, body: Schemas['RevealRequest']) => request<{ myNumber: string }>('POST', r(registrantId, '/my-number/reveal'), body),
  setNumber: (registrantId: string, body: Schemas['MyNumberInput']) => request<void>('PUT', r(registrantId, '/my-number'), body),
  setDependentNumber: (registrantId: string, dependentId: string, body: Schemas['MyNumberInput']) => request<void>('PUT', r(registrantId, `/dependents/${id(dependentId)}/my-number`), body),
  deleteDependentNumber: (registrantId: string, dependentId: string, body: Schemas['PasswordConfirmation']) => request<void>('DELETE', r(registrantId, `/dependents/${id(dependentId)}/my-number`), body),
  addDependent: async (registrantId: string, body: Schemas['NewDependent']) => (await requestIdempotent<Dependent>('POST', r(registrantId, '/dependents'), body)).body,
  retentionRules: () => request<Json<'/v1/retention-rules', 'get'>>('GET', '/v1/retention-rules'),
  // Sent with an Idempotency-Key: a lost answer is asked again and nobody is stored twice.
  bulkEntry: async (body: Schemas['BulkEntryRequest']) => (await requestIdempotent<Schemas['BulkEntryResult']>('POST', '/v1/registrants/bulk-entry', body)).body,
  quickAdd: async (body: Schemas['QuickAddRequest']) => (await requestIdempotent<Schemas['QuickAddResult']>('POST', '/v1/registrants/quick-add', body)).body,
  importCsv: async (file: Blob, opts: { dryRun: boolean; invite: boolean }) =>
    (await requestIdempotent<Schemas['RegistrantImportReport']>('POST', `/v1/registrants/import${query({ dryRun: opts.dryRun, invite: opts.invite })}`, file, undefined, 'text/csv')).body,
  /** The migration file checked whole (nothing stored). */
  checkImportFile: (file: Blob) => request<Schemas['NumbersImportReport']>('POST', '/v1/import-jobs', importForm(file, { dryRun: true })),
  /** The migration file as a job; with an Idempotency-Key, so a lost answer never makes a second job. */
  startImportJob: async (file: Blob, opts: { password: string; reason: string }) =>
    (await requestIdempotent<Schemas['ImportJob']>('POST', '/v1/import-jobs', importForm(file, { dryRun: false, ...opts }))).body,
  importJobs: () => request<{ items: Schemas['ImportJob'][] }>('GET', '/v1/import-jobs'),
  importJobStatus: (jobId: string) => request<Schemas['ImportJob']>('GET', `/v1/import-jobs/${id(jobId)}`),
  cancelImportJob: (jobId: string) => request<Schemas['ImportJob']>('POST', `/v1/import-jobs/${id(jobId)}/cancel`),
  importTemplate: () => requestFile('GET', '/v1/registrants/import-template.csv'),
  exportCsv: (q: { status?: string; retired?: string; encoding?: string }) => requestFile('GET', `/v1/registrants/export.csv${query(q)}`),
  exportWithNumbers: (body: Schemas['RegistrantNumbersExportRequest']) => requestFile('POST', '/v1/registrants/export-with-numbers', body),

  // ---------------------------------------------------------------- groups
  groups: () => request<Group[]>('GET', '/v1/groups'),
  createGroup: (name: string) => request<Group>('POST', '/v1/groups', { name }),
  renameGroup: (groupId: string, name: string) => request<Group>('PATCH', `/v1/groups/${id(groupId)}`, { name }),
  deleteGroup: (groupId: string) => request<void>('DELETE', `/v1/groups/${id(groupId)}`),
  setMembers: (groupId: string, body: { add?: string[]; remove?: string[] }) => request<Group>('PUT', `/v1/groups/${id(groupId)}/members`, body),

  // ---------------------------------------------------------------- administration
  loginUsers: () => request<Schemas['LoginUser'][]>('GET', '/v1/login-users'),
  createLoginUser: (body: Schemas['LoginUserCreate']) => request<Schemas['LoginUser']>('POST', '/v1/login-users', body),
  updateLoginUser: (userId: string, body: Body<'/v1/login-users/{loginUserId}', 'patch'>) => request<Schemas['LoginUser']>('PATCH', `/v1/login-users/${id(userId)}`, body),
  deleteLoginUser: (userId: string) => request<void>('DELETE', `/v1/login-users/${id(userId)}`),
  unlockLoginUser: (userId: string) => request<Schemas['LoginUser']>('POST', `/v1/login-users/${id(userId)}/unlock`),
  requestEmailChange: (userId: string, body: Body<'/v1/login-users/{loginUserId}/email-change', 'post'>) => request<Schemas['LoginUser']>('POST', `/v1/login-users/${id(userId)}/email-change`, body),
  resendEmailChange: (userId: string) => request<Schemas['LoginUser']>('POST', `/v1/login-users/${id(userId)}/email-change/resend`),
  cancelEmailChange: (userId: string) => request<Schemas['LoginUser']>('DELETE', `/v1/login-users/${id(userId)}/email-change`),
  confirmEmailChange: (body: Body<'/v1/auth/email-change/confirm', 'post'>) => request<void>('POST', '/v1/auth/email-change/confirm', body),
  setLoginUserPassword: (userId: string, body: Body<'/v1/login-users/{loginUserId}/password', 'post'>) => request<void>('POST', `/v1/login-users/${id(userId)}/password`, body),
  tenant: () => request<Schemas['TenantSettings']>('GET', '/v1/tenant'),
  updateTenant: (body: Schemas['TenantSettingsPatch']) => request<Schemas['TenantSettings']>('PATCH', '/v1/tenant', body),
  revealPasscode: (body: Schemas['PasswordConfirmation']) => request<Schemas['TenantPasscode']>('POST', '/v1/tenant/passcode/reveal', body),
  regeneratePasscode: (body: Schemas['PasswordConfirmation']) => request<Schemas['TenantPasscode']>('POST', '/v1/tenant/passcode', body),
  history: (q: HistoryQuery) => request<Json<'/v1/operation-history', 'get'>>('GET', `/v1/operation-history${query(q)}`),
  historyCsv: (q: HistoryQuery & { encoding?: string }) => requestFile('GET', `/v1/operation-history.csv${query(q)}`),
  verifyHistory: (head?: Schemas['SignedHistoryHead']) => request<Schemas['HistoryVerification']>('POST', '/v1/operation-history/verify', head ? { head } : undefined),
  connectors: () => request<Schemas['Connector'][]>('GET', '/v1/connectors'),
  createConnector: (body: Schemas['ConnectorCreate']) => request<Json<'/v1/connectors', 'post', 201>>('POST', '/v1/connectors', body),
  revokeConnector: (connectorId: string) => request<Schemas['Connector']>('POST', `/v1/connectors/${id(connectorId)}/revoke`),
  webhooks: () => request<Schemas['Webhook'][]>('GET', '/v1/webhooks'),
  deleteWebhook: (webhookId: string) => request<void>('DELETE', `/v1/webhooks/${id(webhookId)}`),
  webhookDeliveries: (webhookId: string) => request<Schemas['WebhookDelivery'][]>('GET', `/v1/webhooks/${id(webhookId)}/deliveries`),
};
