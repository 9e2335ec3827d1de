/**
 * Every protected route × every kind of caller, driven by the contract: anonymous callers get 401,
 * roles the route does not allow get 403, allowed roles get through (to whatever the handler says
 * about the dummy input). A route added to the spec without an entry here fails the test.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { loadSpec } from '../api/openapi';
import type { Role } from '../prisma/generated/client';
import { useApiHarness } from './support/api-harness';
import { createLoginUser, createTenant, type Agent, TEST_PASSWORD } from './support/fixtures';

const ALL: Role[] = ['owner', 'manager', 'viewer'];
const EDITORS: Role[] = ['owner', 'manager'];

/** Who may call each protected operation (the product's role rules, DESIGN.md). */
const ALLOWED: Record<string, Role[]> = {
  createRegistrant: EDITORS,
  getRegistrant: ALL,
  withdrawInvitation: EDITORS,
  setRegistrantMyNumber: EDITORS,
  setDependentMyNumber: EDITORS,
  resetRegistrantPassword: EDITORS,
  deleteRegistrantMyNumber: EDITORS,
  revealRegistrantMyNumber: ALL,
  logout: ALL,
  getMe: ALL,
  changePassword: ALL,
  startTotpEnrolment: ALL,
  confirmTotpEnrolment: ALL,
  startEmailMethodSwitch: ALL,
  confirmEmailMethodSwitch: ALL,
  listLoginUsers: ALL,
  createLoginUser: EDITORS,
  updateLoginUser: EDITORS,
  deleteLoginUser: EDITORS,
  unlockLoginUser: EDITORS,
  // Anyone for their own address; owners and managers for those they administer (login-users-email-change).
  requestLoginUserEmailChange: ALL,
  resendLoginUserEmailChange: ALL,
  cancelLoginUserEmailChange: ALL,
  setLoginUserPassword: ['owner'],
  getTenantSettings: ALL,
  // Managers: seed 001's 契約者情報 and the passcode (the policy settings stay the owners', tenant-settings-api).
  updateTenantSettings: EDITORS,
  revealTenantPasscode: EDITORS,
  regenerateTenantPasscode: EDITORS,
  searchOperationHistory: ALL,
  exportOperationHistory: ALL,
  verifyOperationHistory: EDITORS,
  listRetentionRules: ALL,
  inviteRegistrants: EDITORS,
  sendInvitation: EDITORS,
  printInvitationQr: EDITORS,
  reviewInvitations: EDITORS,
  issuePaperInvitations: EDITORS,
  approveRegistrant: EDITORS,
  remandRegistrant: EDITORS,
  refuseRegistrant: EDITORS,
  changeRegistrantStatus: EDITORS,
  confirmScheduledDeletion: EDITORS,
  addRegistrantDependent: EDITORS,
  deleteDependentMyNumber: EDITORS,
  unlockRegistrantLogin: EDITORS,
  setRetirement: EDITORS,
  scheduleDeletion: EDITORS,
  cancelDeletion: EDITORS,
  deleteRegistrantData: EDITORS,
  getOperation: ALL,
  getRegistrantTimeline: ALL,
  getDashboard: ALL,
  extendInvitationLink: EDITORS,
  sendReminderNow: EDITORS,
  getOperatorAttention: ['owner'],
  retryRegistrantSteps: ['owner'],
  reviveRegistrantWorkflow: ['owner'],
  redeliverWebhook: ['owner'],
  setMailPause: ['owner'],
  listRegistrantConsents: ALL,
  listRegistrants: ALL,
  listConnectors: ['owner', 'manager'],
  createConnector: ['owner'],
  revokeConnector: ['owner'],
  listWebhooks: ['owner', 'manager'],
  deleteWebhook: ['owner'],
  listWebhookDeliveries: ['owner', 'manager'],
  getRegistrantImportTemplate: ALL,
  exportRegistrants: ALL,
  exportRegistrantsWithNumbers: EDITORS,
  importRegistrants: EDITORS,
  importRegistrantsWithNumbers: EDITORS,
  startRegistrantImportJob: EDITORS,
  listRegistrantImportJobs: EDITORS,
  getRegistrantImportJob: EDITORS,
  cancelRegistrantImportJob: EDITORS,
  bulkEnterRegistrants: EDITORS,
  quickAddRegistrants: EDITORS,
  getRegistrantSummary: ALL,
  updateRegistrant: EDITORS,
  updateRegistrantDependent: EDITORS,
  listRegistrantDocuments: ALL,
  uploadRegistrantDocument: EDITORS,
  getRegistrantDocumentImage: EDITORS,
  revealRegistrantDocumentImage: EDITORS,
  // The owner's session only in a deployment of one tenant; this database serves several (beforeAll).
  decodeTemporalPayloads: [],
  encodeTemporalPayloads: [],
  listGroups: ALL,
  createGroup: EDITORS,
  updateGroup: EDITORS,
  deleteGroup: EDITORS,
  changeGroupMembers: EDITORS,
};

/** Payroll connectors' own calls: a bearer token only, never an HR login. */
const CONNECTOR_ONLY = ['pullNumbers', 'createWebhook', 'syncRegistrants', 'upsertRegistrantByEmployeeCode'];

/** The employee's own registration calls: their registration session only, never an HR login. */
const REGISTRANT_ONLY = [
  'logOutRegistration',
  'getRegistration',
  'listMyConsents',
  'consentToAddedPurposes',
  'saveRegistrationProfile',
  'addRegistrationDependent',
  'updateRegistrationDependent',
  'removeRegistrationDependent',
  'restoreRegistrationDependent',
  'addRegistrationDocument',
  'removeRegistrationDocument',
  'getRegistrationDocumentImage',
  'submitRegistration',
];

type Schema = {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: string[];
  pattern?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  minProperties?: number;
  minItems?: number;
  items?: Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
};
interface Operation {
  operationId: string;
  method: string;
  path: string;
  security?: unknown[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  parameters?: { $ref?: string; name?: string; in?: string; required?: boolean; schema?: Schema }[];
}

const spec = loadSpec() as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };

function resolve(s: Schema): Schema {
  if (s.$ref) return resolve(spec.components.schemas[s.$ref.split('/').pop()!]!);
  if (s.allOf) {
    const parts = s.allOf.map(resolve);
    return { type: 'object', properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})), required: parts.flatMap((p) => p.required ?? []) };
  }
  return s;
}

/** A minimal body the contract accepts, so the request reaches the route's own checks. */
function sample(schema: Schema): unknown {
  const s = resolve(schema);
  if (s.oneOf) return sample(s.oneOf[0]!);
  if (s.enum) return s.enum[s.enum.length - 1];
  if (s.type === 'object' || s.properties) {
    const keys = s.required?.length ? s.required : s.minProperties ? Object.keys(s.properties ?? {}).slice(0, 1) : [];
    return Object.fromEntries(keys.map((k) => [k, sample(s.properties![k]!)]));
  }
  if (s.type === 'integer' || s.type === 'number') return 1;
  if (s.type === 'array') return s.minItems && s.items ? [sample(s.items)] : [];
  if (s.type === 'boolean') return false;
  // The caller's own password (asked again before irreversible or revealing steps): a made-up one
  // would count towards the lock and end the session half-way through the list.
  if (s.format === 'password') return TEST_PASSWORD;
  if (s.format === 'email') return `x-${randomUUID().slice(0, 8)}@example.com`;
  if (s.format === 'uuid') return randomUUID();
  if (s.format === 'date') return '2030-01-01';
  if (s.pattern === '^[0-9]{6}$') return '123456';
  return 'x';
}

const operations: Operation[] = Object.entries(spec.paths).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
    .map(([method, op]) => ({ ...op, method, path })),
);
// Logging out ends the session: do it last.
const protectedOps = operations.filter((op) => !(Array.isArray(op.security) && op.security.length === 0)).sort((a) => (a.operationId === 'logout' ? 1 : -1));

function call(agent: Agent | ReturnType<typeof request>, op: Operation) {
  const url = op.path.replace(/\{[^}]+\}/g, () => randomUUID());
  const method = op.method as 'get' | 'post' | 'put' | 'patch' | 'delete';
  const query = (op.parameters ?? []).filter((p) => p.in === 'query' && p.required).map((p) => `${p.name}=${encodeURIComponent(String(sample(p.schema!)))}`);
  const req = (agent as Agent)[method](query.length ? `${url}?${query.join('&')}` : url);
  const content = op.requestBody?.content ?? {};
  const json = content['application/json']?.schema;
  if (json) return req.send(sample(json) as object);
  // A form (the import with numbers): a few bytes for each file field, the required fields sampled.
  const form = content['multipart/form-data']?.schema as { properties?: Record<string, { format?: string }> } | undefined;
  if (form) {
    let multipart = req;
    for (const [name, prop] of Object.entries(form.properties ?? {})) {
      if (prop.format === 'binary') multipart = multipart.attach(name, Buffer.from('a,b\r\n'), 'file.csv');
    }
    return multipart;
  }
  // A binary body (an image upload): a few bytes of the first type the contract takes.
  const binary = Object.keys(content)[0];
  return binary ? req.set('Content-Type', binary).send(Buffer.from('89504e470d0a1a0a', 'hex')) : req;
}

// Temporal is not needed to decide who may call what; nothing listens here.
const harness = useApiHarness({ taskQueue: 'access' });
let tenantId: string;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '権限テスト株式会社');
  await createTenant(harness.prisma, '権限テストの別会社');
});

it('has a rule for every protected operation in the contract', () => {
  expect(protectedOps.map((o) => o.operationId).sort()).toEqual([...Object.keys(ALLOWED), ...REGISTRANT_ONLY, ...CONNECTOR_ONLY].sort());
  // The contract says which credentials each takes.
  for (const op of protectedOps) {
    const scheme = Object.keys((op.security as Record<string, unknown>[] | undefined)?.[0] ?? { sessionCookie: [] })[0];
    const expected = REGISTRANT_ONLY.includes(op.operationId) ? 'registrationCookie' : CONNECTOR_ONLY.includes(op.operationId) ? 'bearerAuth' : 'sessionCookie';
    expect([op.operationId, scheme]).toEqual([op.operationId, expected]);
  }
});

describe('anonymous callers', () => {
  it.each(protectedOps.map((op) => [op.operationId, op] as const))('%s → 401', async (_id, op) => {
    const res = await call(request(harness.app), op);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
  });

  it('a forged session cookie or a bearer token is nobody', async () => {
    const me = protectedOps.find((o) => o.operationId === 'getMe')!;
    expect((await call(request(harness.app), me).set('Cookie', 'mynaflow_session=forged')).status).toBe(401);
    expect((await call(request(harness.app), me).set('Authorization', `Bearer ${randomUUID()}`)).status).toBe(401);
  });
});

describe.each(ALL)('a logged-in %s', (role) => {
  let agent: Agent;
  beforeAll(async () => {
    agent = await harness.agent(tenantId, role);
  });

  it.each(protectedOps.map((op) => [op.operationId, op] as const))('%s', async (id, op) => {
    const res = await call(agent, op);
    if (REGISTRANT_ONLY.includes(id) || CONNECTOR_ONLY.includes(id)) {
      // An HR session is no registration session nor a connector's token, whatever the role.
      expect(res.status).toBe(401);
    } else if (ALLOWED[id]!.includes(role)) {
      expect([401, 403]).not.toContain(res.status);
      // Creating a registrant needs Temporal, absent here on purpose: 503, nothing else may fail.
      if (id === 'createRegistrant') expect(res.status).toBe(503);
      else expect(res.status).toBeLessThan(500);
    } else {
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('FORBIDDEN');
    }
  });
});

describe('a deleted login user', () => {
  it('loses access at once', async () => {
    const owner = await harness.agent(tenantId, 'owner');
    const leaver = await createLoginUser(harness.prisma, tenantId, 'manager');
    const session = await harness.login(leaver);
    await session.get('/v1/auth/me').expect(200);
    await owner.delete(`/v1/login-users/${leaver.id}`).expect(204);
    expect((await session.get('/v1/auth/me')).status).toBe(401);
  });
});
