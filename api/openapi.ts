import fs from 'node:fs';
import path from 'node:path';
import { Router, type RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenApiRequest } from 'express-openapi-validator/dist/framework/types';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../services/config/project-root';
import { AppError } from '../services/errors';
import { MAX_JOB_BYTES } from '../services/registrants/import-jobs';
import { byCaller, type Identified } from './request-size';

export const SPEC_PATH = path.join(PROJECT_ROOT, 'openapi', 'openapi.yaml');

/** The Japanese integration guide for payroll vendors (docs/integration-guide.ja.md). */
export function loadIntegrationGuide(): string {
  return fs.readFileSync(path.join(PROJECT_ROOT, 'docs', 'integration-guide.ja.md'), 'utf8');
}

export function loadSpecText(): string {
  return fs.readFileSync(SPEC_PATH, 'utf8');
}

export function loadSpec(): Record<string, unknown> {
  return parse(loadSpecText()) as Record<string, unknown>;
}

/**
 * Requests (and, where asked, responses) are checked against the contract. An identified caller is
 * told every error at once; an anonymous one only the first (each error costs the server work).
 */
export function openApiValidator(opts: { validateResponses: boolean; identified: Identified }): RequestHandler {
  const full = Router().use(validator(opts.validateResponses, true, MAX_JOB_BYTES));
  const lean = Router().use(validator(opts.validateResponses, false, ANONYMOUS_UPLOAD_BYTES));
  return byCaller(opts.identified, full, lean);
}

/** What a multipart upload of an unidentified caller may hold before it is refused (413). */
const ANONYMOUS_UPLOAD_BYTES = 64 * 1024;

function validator(validateResponses: boolean, allErrors: boolean, fileBytes: number) {
  return OpenApiValidator.middleware({
    apiSpec: SPEC_PATH,
    // Multipart bodies (the import with numbers) are read into memory, one file, within the limit.
    fileUploader: { limits: { fileSize: fileBytes, files: 1, fields: 10, fieldSize: 16 * 1024 } },
    validateRequests: { allowUnknownQueryParameters: false, allErrors },
    validateResponses,
    validateFormats: true,
    // Authentication and roles are ours (api/auth/middleware.ts); the spec only documents them.
    validateSecurity: false,
    ignoreUndocumented: false,
    // Served outside the validator: the docs UI's own assets.
    ignorePaths: /^\/docs\/.+/,
  });
}

/**
 * PostgreSQL text cannot hold U+0000: a NUL anywhere in the path, query or JSON body would otherwise
 * fail deep in a query (500). Refused up front as a validation error (400), after the contract check.
 */
export function refuseNulCharacters(): RequestHandler {
  return (req: OpenApiRequest, _res, next) => {
    const found: string[] = [];
    const walk = (value: unknown, at: string) => {
      if (found.length >= 10) return;
      if (typeof value === 'string') {
        if (value.includes('\u0000')) found.push(at);
      } else if (Array.isArray(value)) {
        value.forEach((v, i) => walk(v, `${at}/${i}`));
      } else if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
        for (const [k, v] of Object.entries(value)) {
          if (k.includes('\u0000')) found.push(at);
          else walk(v, `${at}/${k}`);
        }
      }
    };
    walk(req.openapi?.pathParams ?? {}, '/params');
    walk(req.query, '/query');
    walk(req.body, '/body');
    if (!found.length) return next();
    next(
      new AppError(
        400,
        'VALIDATION_FAILED',
        '入力内容に誤りがあります',
        found.map((path) => ({ path, message: 'must not contain the NUL character (U+0000)', code: 'NUL_CHARACTER' })),
      ),
    );
  };
}
