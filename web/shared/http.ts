/**
 * The one way the pages talk to the API: JSON (or a Blob) in, JSON out, the CSRF token of the session
 * on every state-changing call, and API problems turned into ApiError with the API's Japanese messages.
 * Used by the employee's phone pages and the HR console alike; neither has a page-only backdoor.
 */
import type { components } from '../../api/generated/openapi';

export type Problem = components['schemas']['Problem'];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem>,
  ) {
    super(problem.code ?? `HTTP ${status}`);
  }
  get code(): string | undefined {
    return this.problem.code;
  }
  /** What to tell the person: the API's Japanese messages (per field when it gave them), else its title. */
  get messages(): string[] {
    const fromFields = (this.problem.errors ?? []).map((e) => e.message).filter((m) => /[\u3040-\u30ff\u4e00-\u9fff]/.test(m));
    if (fromFields.length) return [...new Set(fromFields)];
    return [this.problem.title ?? '処理できませんでした。しばらくしてから再度お試しください'];
  }
  /** The message for one field (path such as /body/myNumber), if the API named it. */
  messageFor(path: string): string | undefined {
    return this.problem.errors?.find((e) => e.path === path)?.message;
  }
}

export interface HttpOptions {
  /** Said when the network fails (no answer at all). */
  offline: string;
}

let csrfToken = '';
export const setCsrf = (token: string): void => {
  csrfToken = token;
};

let offlineText = '通信できませんでした。接続を確認して、もう一度お試しください';
export const configureHttp = (o: HttpOptions): void => {
  offlineText = o.offline;
};

export interface RawResponse {
  status: number;
  headers: Headers;
  blob: Blob;
}

async function send(method: string, path: string, body?: unknown, contentType?: string, accept = 'application/json', extra: Record<string, string> = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: accept, ...extra };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  let payload: BodyInit | undefined;
  // A form (a file with fields): the browser writes its Content-Type with the boundary.
  if (body instanceof FormData) payload = body;
  else if (body instanceof Blob) {
    payload = body;
    headers['Content-Type'] = contentType ?? (body.type || 'application/octet-stream');
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store', redirect: 'error' });
  } catch {
    throw new ApiError(0, { code: 'NETWORK', title: offlineText });
  }
  if (!res.ok) {
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (a proxy's error page): the status speaks
    }
    throw new ApiError(res.status, (json as Partial<Problem> | undefined) ?? { title: `エラーが発生しました（${res.status}）` });
  }
  return res;
}

export async function request<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
  const res = await send(method, path, body, contentType);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A call answered with a file (CSV, image): the bytes and the headers (file name, counts). */
export async function requestFile(method: string, path: string, body?: unknown, contentType?: string, accept = '*/*'): Promise<RawResponse> {
  const res = await send(method, path, body, contentType, accept);
  return { status: res.status, headers: res.headers, blob: await res.blob() };
}

/** A query string from the set values only. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  // Percent-encoded throughout (a space as %20): the API's validator refuses the form encoding's "+".
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/**
 * A lifecycle step was taken on but not finished while we waited (the mail server or the database is
 * not answering): it will be carried out by itself. Not a failure; say so and show the state as it is.
 */
export class StepPending extends ApiError {
  constructor(readonly operation: string) {
    super(202, { code: 'STEP_PENDING', title: '受け付けました。メールサーバーまたはデータベースの応答を待っており、復旧しだい自動で完了します。' });
  }
}

/** A random key for Idempotency-Key (getRandomValues: also on plain-http intranet addresses). */
export function newIdempotencyKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Operation {
  status: 'pending' | 'succeeded' | 'failed' | 'unknown';
  registrant?: unknown;
  error?: Partial<Problem>;
}

/**
 * A call sent with an Idempotency-Key, so a lost answer is sent again safely (once, after a second).
 * Answers the status with the body: a 202 means taken on, not finished.
 */
export async function requestIdempotent<T>(method: string, path: string, body?: unknown, key = newIdempotencyKey(), contentType?: string): Promise<{ status: number; body: T; location: string | null }> {
  const headers = { 'Idempotency-Key': key };
  let res: Response;
  try {
    res = await send(method, path, body, contentType, 'application/json', headers);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 0) throw err;
    await pause(1000);
    res = await send(method, path, body, contentType, 'application/json', headers);
  }
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, location: res.headers.get('Location') };
}

/**
 * A lifecycle step (approve, remand, invite…): idempotent as above; a 202 is followed at its
 * Location for up to `waitMs`, then StepPending. An operation Temporal never received is sent again
 * with the same key.
 */
export async function requestStep<T>(method: string, path: string, body?: unknown, waitMs = 20_000): Promise<T> {
  const key = newIdempotencyKey();
  let res = await requestIdempotent<T>(method, path, body, key);
  if (res.status !== 202 || !res.location) return res.body;
  const location = res.location;
  const until = Date.now() + waitMs;
  let resent = false;
  while (Date.now() < until) {
    await pause(2000);
    const op = await request<Operation>('GET', location);
    if (op.status === 'succeeded') return op.registrant as T;
    if (op.status === 'failed') throw new ApiError(op.error?.status ?? 409, op.error ?? {});
    if (op.status === 'unknown' && !resent) {
      resent = true;
      res = await requestIdempotent<T>(method, path, body, key);
      if (res.status !== 202) return res.body;
    }
  }
  throw new StepPending(location);
}
