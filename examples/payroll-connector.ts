/**
 * An example payroll connector: at the moment withholding slips (源泉徴収票) are printed, it pulls
 * the numbers of the employees concerned from mynaflow and hands them to the printer — nothing is
 * written to disk, nothing is cached, and the numbers are dropped when the run ends.
 *
 * It uses only the published contract: openapi-fetch typed by the types openapi-typescript generates
 * from openapi/openapi.yaml (`npm run generate:api-types`).
 *
 *   MYNAFLOW_URL=https://mynaflow.example.com MYNAFLOW_CLIENT_ID=mfc_… MYNAFLOW_CLIENT_SECRET=mfs_… \
 *     node --import tsx examples/payroll-connector.ts 000123 000124
 */
import createClient from 'openapi-fetch';
import type { components, paths } from '../api/generated/openapi';

type Pulled = components['schemas']['PulledPerson'];
type Result = components['schemas']['NumberPullResult'];

export interface Slip {
  employeeCode: string | null;
  name: string;
  /** the individual number, for the printer only */
  myNumber: string;
  dependents: { name: string; relationship: string; myNumber: string | null }[];
}

export interface PullOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  employeeCodes: string[];
  /** fetch to use (tests pass one bound to a local server) */
  fetch?: typeof fetch;
}

/** Client credentials → a bearer token (RFC 6749 §4.4), asked for the one scope needed. */
async function token(o: PullOptions): Promise<string> {
  const client = createClient<paths>({ baseUrl: o.baseUrl, fetch: o.fetch });
  const { data, error } = await client.POST('/v1/oauth/token', {
    body: { grant_type: 'client_credentials', scope: 'numbers:pull' },
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(o.clientId)}:${encodeURIComponent(o.clientSecret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    bodySerializer: (b: Record<string, string>) => new URLSearchParams(b).toString(),
  });
  if (error || !data) throw new Error(`token refused: ${(error as { code?: string } | undefined)?.code ?? 'unknown'}`);
  return data.access_token;
}

/**
 * The slips' data for the given employees, plus who could not be served and why (to show the
 * payroll clerk: e.g. PENDING means HR has not approved the registration yet).
 */
export async function pullForWithholdingSlips(o: PullOptions): Promise<{ slips: Slip[]; unserved: Result['unserved'] }> {
  const client = createClient<paths>({ baseUrl: o.baseUrl, fetch: o.fetch, headers: { authorization: `Bearer ${await token(o)}` } });
  const { data: answer, error, response } = await client.POST('/v1/numbers/pull', {
    body: { purpose: 'withholding_slip', employeeCodes: o.employeeCodes, includeDependents: true },
    headers: { accept: 'application/json' },
  });
  if (error || !answer) throw new Error(`pull refused (${response.status}): ${(error as { code?: string } | undefined)?.code ?? 'unknown'}`);
  const data = answer as Result; // JSON, as asked (the CSV form is for file-based payroll packages)
  const slips = data.served.map((p: Pulled) => ({
    employeeCode: p.employeeCode,
    name: `${p.familyName} ${p.givenName}`,
    myNumber: p.myNumber,
    dependents: p.dependents.map((d) => ({ name: `${d.familyName} ${d.givenName}`, relationship: d.relationship, myNumber: d.myNumber })),
  }));
  return { slips, unserved: data.unserved };
}

/** Stand-in for the slip printer: shows who was printed, the numbers masked on screen. */
const say = (line: string) => process.stdout.write(`${line}\n`);

function print(slip: Slip): void {
  const masked = (n: string | null) => (n ? `********${n.slice(-4)}` : '（未取得）');
  say(`源泉徴収票 ${slip.employeeCode ?? ''} ${slip.name} 個人番号 ${masked(slip.myNumber)}`);
  for (const d of slip.dependents) say(`  扶養 ${d.relationship} ${d.name} 個人番号 ${masked(d.myNumber)}`);
}

if (require.main === module) {
  const env = (k: string) => process.env[k] ?? (console.error(`${k} is not set`), process.exit(2));
  pullForWithholdingSlips({ baseUrl: env('MYNAFLOW_URL'), clientId: env('MYNAFLOW_CLIENT_ID'), clientSecret: env('MYNAFLOW_CLIENT_SECRET'), employeeCodes: process.argv.slice(2) })
    .then(({ slips, unserved }) => {
      slips.forEach(print);
      for (const u of unserved) say(`未取得 ${u.employeeCode ?? u.registrantId}: ${u.reasonLabel} (${u.reason})`);
    })
    .catch((err: Error) => {
      console.error(err.message);
      process.exit(1);
    });
}
