/**
 * The payload codec endpoint for the Temporal Web UI and CLI — Temporal's remote codec protocol:
 * `POST …/decode` and `…/encode` with `{ payloads: [{ metadata, data }] }`, bytes as base64. Every
 * payload in Temporal is encrypted (services/temporal/payload-codec.ts); this shows them to an
 * operator's tool holding TEMPORAL_CODEC_TOKEN, or — in a deployment of one tenant only — to that
 * tenant's owner, through their console session sent along by the UI from its configured origin
 * (CORS with credentials). Payloads carry no tenant of their own, so where several tenants share the
 * deployment no tenant's owner may decode them. Anyone else gets nothing: the UI has no login.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { Router, type Request, type RequestHandler } from 'express';
import { AppError } from '../../services/errors';
import { csrfHolds } from '../auth/middleware';

export const CODEC_PATH = '/v1/temporal-codec';

export interface TemporalCodecDeps {
  codec: PayloadCodec;
  /** The Temporal Web UI's origin (scheme://host:port). */
  uiOrigin: string;
  /** An operator's bearer token; unset: owners' sessions only. */
  token?: string;
  /** Whether an owner's session may decode: the deployment serves one tenant only. */
  singleTenant(): Promise<boolean>;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const toPayload = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
  data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

const UNAUTHENTICATED = () => new AppError(401, 'UNAUTHENTICATED', 'ログインしてください');
const NOT_OWNER = () => new AppError(403, 'FORBIDDEN', 'ワークフローの内容を表示できるのは、最高権限のログインユーザだけです');
const SHARED_DEPLOYMENT = () =>
  new AppError(403, 'FORBIDDEN', '複数の契約があるため、ワークフローの内容はログイン中の画面からは表示できません。運用担当者のトークン（TEMPORAL_CODEC_TOKEN）で表示してください');

/** CORS for the UI's origin only (preflight answered here, before the API's contract check). */
export function temporalCodecCors({ uiOrigin }: Pick<TemporalCodecDeps, 'uiOrigin'>): RequestHandler {
  return (req, res, next) => {
    if (!req.path.startsWith(CODEC_PATH)) return next();
    if (req.headers.origin === uiOrigin) {
      res.set({ 'Access-Control-Allow-Origin': uiOrigin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' });
      if (req.method === 'OPTIONS') {
        res.set({ 'Access-Control-Allow-Methods': 'POST', 'Access-Control-Allow-Headers': 'content-type, x-namespace, authorization', 'Access-Control-Max-Age': '600' });
        return void res.status(204).end();
      }
    }
    next();
  };
}

/** Whether the request carries the operator's codec token (TEMPORAL_CODEC_TOKEN). */
export function temporalCodecOperator(token: string | undefined): (req: Request) => boolean {
  return (req) => {
    const given = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    if (!given || !token) return false;
    const [a, b] = [Buffer.from(given), Buffer.from(token)];
    return a.length === b.length && timingSafeEqual(a, b);
  };
}

export function temporalCodecRoutes({ codec, uiOrigin, token, singleTenant }: TemporalCodecDeps): Router {
  const router = Router();
  const operator = temporalCodecOperator(token);
  const allowed: RequestHandler = (req, _res, next) => {
    if (operator(req)) return next();
    const caller = req.caller;
    if (!caller) return next(UNAUTHENTICATED());
    // The UI sends the cookie cross-origin without our CSRF token: its origin stands in for it.
    const origin = req.headers.origin;
    if (origin ? origin !== uiOrigin : !csrfHolds(req, caller.csrfToken)) return next(NOT_OWNER());
    if (caller.user.role !== 'owner') return next(NOT_OWNER());
    singleTenant().then((single) => next(single ? undefined : SHARED_DEPLOYMENT()), next);
  };
  for (const step of ['decode', 'encode'] as const) {
    router.post(`${CODEC_PATH}/${step}`, allowed, async (req, res) => {
      const payloads = ((req.body as { payloads: JsonPayload[] }).payloads ?? []).map(toPayload);
      const out = await codec[step](payloads).catch((err: Error) => {
        throw new AppError(400, 'PAYLOAD_NOT_DECODABLE', 'ワークフローのデータを復号できませんでした', [{ path: '/body/payloads', message: err.name, code: 'codec' }]);
      });
      res.set('Cache-Control', 'no-store').json({ payloads: out.map(toJson) });
    });
  }
  return router;
}
