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

async function send(method: string, path: string, body?: unknown, contentType?: string, accept = 'application/json'): Promise<Response> {
  const headers: Record<string, string> = { Accept: accept };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  let payload: BodyInit | undefined;
  if (body instanceof Blob) {
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
