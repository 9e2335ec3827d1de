/**
 * Number-pull bench: a payroll connector pulls N numbers (by employee code) as Shift_JIS CSV over
 * HTTP from the real app, against the same query + decrypt + CSV encode (+ the operation-history
 * rows) done in this process without HTTP, measured in the same run (goal: HTTP ≤ 1.5× the
 * in-process time). Then 10 × N through HTTP, sampling this process's heap while the response
 * streams: it must stay flat (the pull streams in batches of 500).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ConnectorCaller } from '../../services/connectors/connectors';
import { PULL_HEADER, pullRows } from '../../services/connectors/pull-csv';
import { csvStream, type CsvCell } from '../../services/csv/encode';
import { createPrisma, type PrismaClient } from '../../services/db/client';
import { validateIndividualNumber } from '../../services/mynumber/validate';
import type { Vault } from '../../services/vault/types';
import { startBenchApi } from './api';
import { cpuProfile, heapPeak, pool, say, secs, type Cleanup, type Stack } from './stack';

export interface NumberPullOptions {
  count: number;
  concurrency: number;
}

const GOAL_RATIO = 1.5;
const GOAL_MS_PER_10000 = 1000;
/** The memory check pulls this many times N. */
const MEMORY_FACTOR = 10;

/** A random individual number with a valid check digit (nobody's: the bench invents them). */
function inventedNumber(): string {
  for (;;) {
    const first11 = Array.from(randomBytes(11), (b) => String(b % 10)).join('');
    for (let d = 0; d <= 9; d++) {
      const v = validateIndividualNumber(first11 + d);
      if (v.ok) return v.value;
    }
  }
}

export async function seed(prisma: PrismaClient, vault: Vault, tenantId: string, from: number, count: number, concurrency: number) {
  const rows: { id: string; code: string; secretId: string }[] = new Array(count);
  const sealed = await pool(count, concurrency, async (i) => {
    const secretId = await vault.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(inventedNumber()) });
    rows[i] = { id: randomUUID(), code: String(from + i).padStart(8, '0'), secretId };
  });
  if (sealed.errors) throw sealed.firstError!;
  for (let i = 0; i < count; i += 5000) {
    await prisma.registrant.createMany({
      data: rows.slice(i, i + 5000).map((r) => ({ id: r.id, tenantId, employeeCode: r.code, familyName: '給与', givenName: `太郎${r.code}`, status: 'completed' as const, myNumberSecretId: r.secretId, workflowId: `bench-${r.id}` })),
    });
  }
  return rows.map((r) => r.code);
}

export async function runNumberPullBench(stack: Stack, cleanup: Cleanup, opts: NumberPullOptions): Promise<boolean> {
  const url = await stack.migratedDatabase('bench_pull');
  const prisma = createPrisma(url);
  cleanup.add('disconnect the pull bench database', () => prisma.$disconnect());
  const { base, services, vault } = await startBenchApi(stack, cleanup, prisma);

  const tenant = await prisma.tenant.create({ data: { name: 'ベンチ株式会社', customerNumber: randomUUID().slice(0, 12), purposes: ['withholding_slip'] } });
  const secret = `mfs_${randomBytes(32).toString('base64url')}`;
  const client = await prisma.apiClient.create({
    data: { tenantId: tenant.id, name: 'ベンチ給与', clientId: `mfc_${randomUUID()}`, secretHash: createHash('sha256').update(secret).digest('hex'), scopes: ['numbers:pull'], allowedPurposes: ['withholding_slip'] },
  });
  const { access_token: token } = await services.connectors.issueToken({ clientId: client.clientId, clientSecret: secret }, { ip: '127.0.0.1', userAgent: 'bench' });

  say(`pull: sealing ${opts.count * MEMORY_FACTOR} invented numbers into the vault…`);
  const t0 = Date.now();
  const codes = await seed(prisma, vault, tenant.id, 0, opts.count * MEMORY_FACTOR, opts.concurrency);
  say(`pull: seeded in ${secs(Date.now() - t0)}`);
  const some = codes.slice(0, opts.count);

  const caller: ConnectorCaller = { client, tenant, scopes: ['numbers:pull'], ip: '127.0.0.1', userAgent: 'bench' };
  /** The same work without HTTP: query, decrypt, history rows, CP932 CSV, bytes counted. */
  const inProcess = async (list: string[]) => {
    let bytes = 0;
    const rows = (async function* (): AsyncGenerator<CsvCell[]> {
      for await (const batch of services.numberPull.pull(caller, { purpose: 'withholding_slip', employeeCodes: list })) yield* pullRows(batch, 'cp932');
    })();
    await pipeline(csvStream(PULL_HEADER, rows, { encoding: 'cp932' }), new Writable({ write: (chunk: Buffer, _e, done) => ((bytes += chunk.length), done()) }));
    return bytes;
  };
  const overHttp = async (list: string[]) => {
    const res = await fetch(`${base}/v1/numbers/pull`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/csv' },
      body: JSON.stringify({ purpose: 'withholding_slip', employeeCodes: list }),
    });
    if (res.status !== 200 || !res.body) throw new Error(`pull answered ${res.status}: ${await res.text()}`);
    let bytes = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
    return bytes;
  };
  const timed = async (fn: () => Promise<number>) => {
    const start = Date.now();
    const bytes = await fn();
    return { ms: Date.now() - start, bytes };
  };

  // Warm both paths, then alternate and keep each one's best of two.
  await inProcess(codes.slice(0, 500));
  await overHttp(codes.slice(0, 500));
  const runs = { local: [] as { ms: number; bytes: number }[], http: [] as { ms: number; bytes: number }[] };
  for (let i = 0; i < 2; i++) {
    runs.local.push(await timed(() => inProcess(some)));
    runs.http.push(await timed(() => overHttp(some)));
  }
  // BENCH_CPU_PROFILE=file: a CPU profile of one more in-process pull alone (open it in Chrome's DevTools).
  if (process.env.BENCH_CPU_PROFILE) await cpuProfile(process.env.BENCH_CPU_PROFILE, () => inProcess(some));
  const best = (r: { ms: number; bytes: number }[]) => r.reduce((a, b) => (b.ms < a.ms ? b : a));
  const [local, viaHttp] = [best(runs.local), best(runs.http)];
  const ratio = viaHttp.ms / local.ms;
  let ok = true;
  if (local.bytes !== viaHttp.bytes) {
    // Same rows, same encoder: the two must be byte for byte the same size.
    say(`FAIL: the in-process CSV (${local.bytes} bytes) and the HTTP CSV (${viaHttp.bytes} bytes) differ too much`);
    ok = false;
  }
  say(`pull ${opts.count} numbers as Shift_JIS CSV: in process ${secs(local.ms)} (${Math.round(opts.count / (local.ms / 1000))}/s), over HTTP ${secs(viaHttp.ms)} (${Math.round(opts.count / (viaHttp.ms / 1000))}/s), ratio ${ratio.toFixed(2)}× (goal ≤ ${GOAL_RATIO}×) ${ratio <= GOAL_RATIO ? 'OK' : 'MISSED'}`);

  // Memory: the small pull and the 10× one, peak heap growth while streaming.
  // 10 × N timed on its own (the memory runs force a GC every 100 ms, which slows them).
  const largeT0 = Date.now();
  await overHttp(codes);
  const largeMs = Date.now() - largeT0;
  say(`pull ${codes.length} numbers over HTTP: ${secs(largeMs)} (${Math.round(codes.length / (largeMs / 1000))}/s)`);
  const small = await heapPeak(() => overHttp(some));
  const large = await heapPeak(() => overHttp(codes));
  // Flat: ten times the rows may not need more than twice the memory (plus 16 MiB of slack).
  const flat = large.peak <= small.peak * 2 + 16 * 1024 * 1024;
  // One decimal: a streamed pull's live heap stays well under a MiB.
  const mib1 = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  say(`pull memory: peak live heap growth ${mib1(small.peak)} for ${opts.count} rows, ${mib1(large.peak)} for ${codes.length} rows (${mib1(large.result)} of CSV) → ${flat ? 'flat' : 'NOT flat'}`);
  if (!flat) ok = false;
  const pulled = await prisma.operationEvent.count({ where: { tenantId: tenant.id, operation: 'number_pulled' } });
  say(`pull: ${pulled} number_pulled history rows written (one per person per pull)`);
  // The goals: 10,000 in a second over HTTP (scaled to N), ≤ 1.5× the in-process path, 10 × N in
  // ten times that, flat memory.
  const goalMs = GOAL_MS_PER_10000 * (opts.count / 10_000);
  const goals = [
    { what: `pull ${opts.count} over HTTP ${secs(viaHttp.ms)} (goal ≤ ${secs(goalMs)}: 1 s per 10,000)`, pass: viaHttp.ms <= goalMs },
    { what: `pull over HTTP ${ratio.toFixed(2)}× the in-process path (goal ≤ ${GOAL_RATIO}×)`, pass: ratio <= GOAL_RATIO },
    { what: `pull ${codes.length} over HTTP ${secs(largeMs)} (goal ≤ ${secs(goalMs * MEMORY_FACTOR)})`, pass: largeMs <= goalMs * MEMORY_FACTOR },
    { what: `pull memory ${mib1(large.peak)} for ${codes.length} rows vs ${mib1(small.peak)} for ${opts.count} (goal: flat)`, pass: flat },
  ];
  for (const g of goals) console.log(`${g.pass ? 'PASS' : 'FAIL'}  goal: ${g.what}`);
  return ok;
}
