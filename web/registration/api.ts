/**
 * The registration API (tag `registration`), the only thing these pages talk to: the same calls any
 * other client makes, nothing page-only. The session is the httpOnly cookie the API sets; the CSRF
 * token it hands back is kept in memory and sent on every state-changing call.
 */
import type { components } from '../../api/generated/openapi';
import { configureHttp, request, requestIdempotent, setCsrf } from '../shared/http';

export { ApiError, setCsrf } from '../shared/http';

type Schemas = components['schemas'];
export type Registration = Schemas['Registration'];
export type LinkInfo = Schemas['RegistrationLinkInfo'];
export type Dependent = Schemas['RegistrationDependent'];
export type Document = Schemas['RegistrationDocument'];
export type DocumentType = Schemas['DocumentType'];
export type DocumentPurpose = Schemas['DocumentPurpose'];
export type Problem = Schemas['Problem'];

configureHttp({ offline: '通信できませんでした。電波の良いところで、もう一度お試しください' });

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
  consents: () => request<Schemas['Consent'][]>('GET', '/v1/registration/consents'),
  consent: (consentedPurposes: Schemas['Purpose'][]) => request<Registration>('POST', '/v1/registration/consents', { consentedPurposes }),
  saveProfile: (body: Schemas['RegistrationProfile']) => request<Registration>('PUT', '/v1/registration/profile', body),
  addDependent: (body: Schemas['RegistrationDependentInput']) => request<Registration & { id: string }>('POST', '/v1/registration/dependents', body),
  updateDependent: (id: string, body: Schemas['RegistrationDependentInput']) => request<Registration>('PATCH', `/v1/registration/dependents/${encodeURIComponent(id)}`, body),
  removeDependent: (id: string) => request<Registration>('DELETE', `/v1/registration/dependents/${encodeURIComponent(id)}`),
  restoreDependent: (id: string) => request<Registration>('POST', `/v1/registration/dependents/${encodeURIComponent(id)}/restore`),
  upload: (slot: { purpose: DocumentPurpose; type: DocumentType; side: 'front' | 'back'; dependentId?: string | null }, image: Blob, mimeType: string) => {
    const q = new URLSearchParams({ purpose: slot.purpose, type: slot.type, side: slot.side });
    if (slot.dependentId) q.set('dependentId', slot.dependentId);
    return request<Registration & { id: string }>('POST', `/v1/registration/documents?${q.toString()}`, image, mimeType);
  },
  removeDocument: (id: string) => request<Registration>('DELETE', `/v1/registration/documents/${encodeURIComponent(id)}`),
  imageUrl: (id: string) => `/v1/registration/documents/${encodeURIComponent(id)}/image`,
  /** `pending`: taken on, submitted as soon as the server's database answers again. */
  finish: async () => {
    const res = await requestIdempotent<Registration>('POST', '/v1/registration/submission');
    return { pending: res.status === 202, registration: res.body };
  },
};
