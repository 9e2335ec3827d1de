import fs from 'node:fs';
import path from 'node:path';
import * as OpenApiValidator from 'express-openapi-validator';
import { parse } from 'yaml';

export const SPEC_PATH = path.join(__dirname, '..', 'openapi', 'openapi.yaml');

export function loadSpecText(): string {
  return fs.readFileSync(SPEC_PATH, 'utf8');
}

export function loadSpec(): Record<string, unknown> {
  return parse(loadSpecText()) as Record<string, unknown>;
}

/** Requests (and, where asked, responses) are checked against the contract. */
export function openApiValidator(opts: { validateResponses: boolean }) {
  return OpenApiValidator.middleware({
    apiSpec: SPEC_PATH,
    validateRequests: { allowUnknownQueryParameters: false, allErrors: true },
    validateResponses: opts.validateResponses,
    validateFormats: true,
    // Authentication and roles are ours (api/auth/middleware.ts); the spec only documents them.
    validateSecurity: false,
    ignoreUndocumented: false,
    // Served outside the validator: the docs UI's own assets.
    ignorePaths: /^\/docs\/.+/,
  });
}
