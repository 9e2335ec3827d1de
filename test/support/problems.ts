/** Assertions on the API's error answers (problem+json, RFC 9457) and their Japanese wording. */
import type request from 'supertest';

/** Any kana or kanji: the product speaks Japanese to people. */
export const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;

/** An error answer: problem+json with the status, the machine code and a Japanese title. */
export function expectProblem(res: request.Response, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.title).toMatch(JAPANESE);
}

/** expectProblem, plus the body's own status and the type URI named after the code; the title exactly, if given. */
export function expectProblemDetails(res: request.Response, status: number, code: string, title?: string): void {
  expectProblem(res, status, code);
  expect(res.body).toMatchObject({ status, code, type: `https://mynaflow.dev/problems/${code.toLowerCase().replace(/_/g, '-')}` });
  if (title !== undefined) expect(res.body.title).toBe(title);
}
