/**
 * The registration API (tag `registration`), the only thing these pages talk to: the same calls any
 * other client makes, nothing page-only. The session is the httpOnly cookie the API sets; the CSRF
 * token it hands back is kept in memory and sent on every state-changing call.
 */
import type { components } from '../../api/generated/openapi';

type Schemas = components['schemas'];
export type Registration = Schemas['Registration'];
export type LinkInfo = Schemas['RegistrationLinkInfo'];
export type Dependent = Schemas['RegistrationDependent'];
export type Document = Schemas['RegistrationDocument'];
export type DocumentType = Schemas['DocumentType'];
export type DocumentPurpose = Schemas['DocumentPurpose'];
export type Problem = Schemas['Problem'];

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

const OFFLINE: Partial<Problem> = { code: 'NETWORK', title: '通信できませんでした。電波の良いところで、もう一度お試しください' };

let csrfToken = '';
export const setCsrf = (token: string): void => {
  csrfToken = token;
};

async function request<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  let payload: BodyInit | undefined;
  if (body instanceof Blob) {
    payload = body;
    headers['Content-Type'] = contentType ?? 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store', redirect: 'error' });
  } catch {
    throw new ApiError(0, OFFLINE);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (a proxy's error page): the status speaks
  }
  if (!res.ok) throw new ApiError(res.status, (json as Partial<Problem> | undefined) ?? { title: `エラーが発生しました（${res.status}）` });
  return json as T;
}

export const api = {
  link: (token: string) => request<LinkInfo>('POST', '/v1/registration/link', { token }),
  setUp: (body: Schemas['RegistrationSetup']) => request<Schemas['RegistrationSessionStarted']>('POST', '/v1/registration/setup', body),
  logIn: (body: Schemas['RegistrationLogin']) => request<Schemas['RegistrationSessionStarted']>('POST', '/v1/registration/login', body),
  logOut: () => request<void>('POST', '/v1/registration/logout'),
  get: async (): Promise<Registration> => {
    const r = await request<Registration & { csrfToken: string }>('GET', '/v1/registration');
    setCsrf(r.csrfToken);
    return r;
  },
  saveProfile: (body: Schemas['RegistrationProfile']) => request<Registration>('PUT', '/v1/registration/profile', body),
  addDependent: (body: Schemas['RegistrationDependentInput']) => request<Registration & { id: string }>('POST', '/v1/registration/dependents', body),
  updateDependent: (id: string, body: Schemas['RegistrationDependentInput']) => request<Registration>('PATCH', `/v1/registration/dependents/${encodeURIComponent(id)}`, body),
  removeDependent: (id: string) => request<Registration>('DELETE', `/v1/registration/dependents/${encodeURIComponent(id)}`),
  upload: (slot: { purpose: DocumentPurpose; type: DocumentType; side: 'front' | 'back'; dependentId?: string | null }, image: Blob, mimeType: string) => {
    const q = new URLSearchParams({ purpose: slot.purpose, type: slot.type, side: slot.side });
    if (slot.dependentId) q.set('dependentId', slot.dependentId);
    return request<Registration & { id: string }>('POST', `/v1/registration/documents?${q.toString()}`, image, mimeType);
  },
  removeDocument: (id: string) => request<Registration>('DELETE', `/v1/registration/documents/${encodeURIComponent(id)}`),
  imageUrl: (id: string) => `/v1/registration/documents/${encodeURIComponent(id)}/image`,
  finish: () => request<Registration>('POST', '/v1/registration/submission'),
};
