/** The one error format of the API: RFC 9457 problem details with a machine code and Japanese title. */
import type { ErrorRequestHandler, Response } from 'express';
import type { components } from './generated/openapi';
import { AppError } from '../services/errors';
import { MAX_IMPORT_BYTES } from '../services/registrants/csv-import';
import { MAX_JOB_BYTES } from '../services/registrants/import-jobs';
import { japaneseValidationMessage } from './validation-messages';
import type { Logger } from '../services/logging/logger';
import { createOutageLog, outageOf, OUTAGE_RETRY_AFTER_SECONDS } from '../services/health/outages';

export type Problem = components['schemas']['Problem'];


export function sendProblem(res: Response, p: AppError): void {
  // Every 503 is "not done, try again": say when.
  if (p.status === 503 && !res.get('Retry-After')) res.set('Retry-After', String(OUTAGE_RETRY_AFTER_SECONDS));
  const body: Problem = {
    type: `https://mynaflow.dev/problems/${p.code.toLowerCase().replace(/_/g, '-')}`,
    title: p.title,
    status: p.status,
    code: p.code,
    ...(p.errors?.length ? { errors: p.errors } : {}),
  };
  res.status(p.status).type('application/problem+json').json(body);
}

const DATABASE_UNAVAILABLE = () => new AppError(503, 'DATABASE_UNAVAILABLE', 'データベースに接続できません。しばらくしてから再度お試しください');
const TEMPORAL_UNAVAILABLE = () => new AppError(503, 'TEMPORAL_UNAVAILABLE', 'ワークフローサーバーに接続できません。しばらくしてから再度お試しください');

interface ValidatorError {
  status?: number;
  message?: string;
  errors?: { path?: string; message?: string; errorCode?: string }[];
}

/** busboy's messages for a form it cannot parse (what the client sent, not a fault of ours). */
const MULTIPART_FAULTS = /^(Malformed part header|Malformed urlencoded form|Multipart: Boundary not found|Unexpected end of (form|file)|Missing Content-Type|Malformed content type)$/;

/** Maps validator and unexpected errors onto problems; never echoes request values. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  const outage = createOutageLog(logger);
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof AppError) return sendProblem(res, err);
    const v = err as ValidatorError & { type?: string };
    if (v.type === 'entity.parse.failed') {
      return sendProblem(res, new AppError(400, 'MALFORMED_JSON', 'リクエスト本文がJSONとして読み取れません'));
    }
    if (v.type === 'entity.too.large') {
      // api/request-size.ts: 64 KB before the caller is known, 1 MB after
      return sendProblem(res, new AppError(413, 'BODY_TOO_LARGE', 'リクエスト本文が大きすぎます'));
    }
    // A multipart body the form parser (busboy) cannot read: the validator reports it as a 500.
    if (v.status === 500 && MULTIPART_FAULTS.test(v.errors?.[0]?.message ?? '')) {
      return sendProblem(res, new AppError(400, 'MULTIPART_INVALID', '送られたフォームを読み取れません（multipart/form-data の形式が正しくありません）'));
    }
    if (typeof v.status === 'number' && v.status >= 400 && v.status < 500) {
      const errors = (v.errors ?? []).map((e) => ({
        path: e.path ?? '',
        message: japaneseValidationMessage(e.message ?? ''),
        ...(e.errorCode ? { code: e.errorCode.replace(/\.openapi\.validation$/, '') } : {}),
      }));
      const [code, title] =
        v.status === 404 ? ['NOT_FOUND', '指定されたURLは存在しません']
        : v.status === 405 ? ['METHOD_NOT_ALLOWED', 'このURLではその操作はできません']
        : v.status === 415 ? ['UNSUPPORTED_MEDIA_TYPE', req.path === '/v1/oauth/token' ? 'トークンの要求は application/x-www-form-urlencoded で送ってください（RFC 6749）' : 'リクエスト本文はJSONで送ってください']
        // Only an uploaded file (multipart) gets here: JSON bodies are sized by their parser above.
        : v.status === 413 ? ['BODY_TOO_LARGE', `ファイルが大きすぎます（CSVの取り込みは${MAX_IMPORT_BYTES / 1024 / 1024}MBまで、取り込みジョブは${MAX_JOB_BYTES / 1024 / 1024}MBまでです）`]
        : ['VALIDATION_FAILED', '入力内容に誤りがあります'];
      return sendProblem(res, new AppError(v.status, code, title, errors));
    }
    const part = outageOf(err);
    if (part) {
      outage(part, err);
      return sendProblem(res, part === 'database' ? DATABASE_UNAVAILABLE() : TEMPORAL_UNAVAILABLE());
    }
    logger.error({ err, method: req.method }, 'unhandled error');
    sendProblem(res, new AppError(500, 'INTERNAL_ERROR', 'サーバー内部でエラーが発生しました'));
  };
}
