/**
 * HR's registrant CSVs (README "CSV import and export"). Mounted before the routes with
 * `/v1/registrants/:registrantId`, which would otherwise take `export.csv` for an id.
 */
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { components } from '../generated/openapi';
import type { Status } from '../../prisma/generated/client';
import { formatJst } from '../../services/audit/history';
import { AppError } from '../../services/errors';
import { MAX_IMPORT_BYTES } from '../../services/registrants/csv-import';
import { ImportRejected, type ExportEncoding, type ExportFilters, type LinesReport, type RegistrantCsvService } from '../../services/registrants/csv';
import type { NumbersImportService } from '../../services/registrants/numbers-import';
import { MAX_JOB_BYTES, type ImportJobs } from '../../services/registrants/import-jobs';
import { ANY_ROLE, EDITORS, requireRole } from '../auth/middleware';
import { acting } from '../login-users/routes';
import { sendOnce } from './bulk-routes';

type NumbersExportRequest = components['schemas']['RegistrantNumbersExportRequest'];

const encodingOf = (v: unknown): ExportEncoding => (v === 'utf8-bom' ? 'utf8-bom' : 'cp932');
const flag = (v: unknown): boolean | undefined => (v === true || v === 'true' ? true : v === false || v === 'false' ? false : undefined);
/** The day of the download in Japan, for the file name. */
const stamp = () => formatJst(new Date()).slice(0, 10).replace(/\//g, '');

function csvHeaders(res: Response, encoding: ExportEncoding, filename: string): Response {
  return res
    .set('Content-Type', `text/csv; charset=${encoding === 'cp932' ? 'Shift_JIS' : 'UTF-8'}`)
    .set('Content-Disposition', `attachment; filename="${filename}"`)
    .set('Cache-Control', 'no-store');
}

function sendCsv(res: Response, body: Buffer, encoding: ExportEncoding, filename: string): void {
  csvHeaders(res, encoding, filename).send(body);
}

/** A file part of a multipart body, as the contract's validator (multer) leaves it. */
interface UploadedFile {
  fieldname: string;
  buffer: Buffer;
}

function importProblem(res: Response, err: ImportRejected<LinesReport>): void {
  // The problem, with the whole per-line report as the dry run gives it.
  const problem: components['schemas']['Problem'] & { report: unknown } = {
    type: 'https://mynaflow.dev/problems/csv-import-invalid',
    title: err.title,
    status: err.status,
    code: err.code,
    ...(err.errors?.length ? { errors: err.errors } : {}),
    report: err.report,
  };
  res.status(err.status).type('application/problem+json').set('Cache-Control', 'no-store').json(problem);
}

export function registrantCsvRoutes(csv: RegistrantCsvService, numbers: NumbersImportService, jobs: ImportJobs): Router {
  const router = Router();

  router.get('/v1/registrants/import-template.csv', requireRole(...ANY_ROLE), (_req, res) => {
    sendCsv(res, csv.template(), 'cp932', 'registrant-import-template.csv');
  });

  router.get('/v1/registrants/export.csv', requireRole(...ANY_ROLE), async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const encoding = encodingOf(q.encoding);
    const filters: ExportFilters = { status: q.status as Status | undefined, retired: flag(q.retired) };
    // Refused (422) before the first byte if a name cannot be written; streamed after that.
    const { stream } = await csv.exportRegistrants(acting(req), filters, encoding);
    csvHeaders(res, encoding, `registrants-${stamp()}.csv`);
    stream.on('error', (err) => {
      // Headers are gone: the download is cut off (the database went away, or a name changed since the check).
      req.log?.error({ err: { name: (err as Error).name } }, 'registrant export stream failed');
      res.destroy();
    });
    stream.pipe(res);
  });

  // Numbers only travel in this response body: never in the URL, a log line or an error.
  router.post('/v1/registrants/export-with-numbers', requireRole(...EDITORS), async (req, res) => {
    const b = req.body as NumbersExportRequest;
    const encoding = encodingOf(b.encoding);
    const { body } = await csv.exportWithNumbers(acting(req), {
      password: b.password,
      purpose: b.purpose,
      encoding,
      filters: { status: b.status, retired: b.retired },
    });
    sendCsv(res, body, encoding, `registrant-numbers-${stamp()}.csv`);
  });

  // The file is the request body itself (text/csv, or whatever type a browser gives a .csv file).
  const parseRaw = express.raw({ type: () => true, limit: MAX_IMPORT_BYTES });
  const rawCsv: RequestHandler = (req, res, next) =>
    parseRaw(req, res, (err?: unknown) =>
      next((err as { type?: string } | undefined)?.type === 'entity.too.large' ? new AppError(413, 'CSV_TOO_LARGE', `CSVファイルは${MAX_IMPORT_BYTES / 1024 / 1024}MBまでです。ファイルを分けてアップロードしてください`) : err),
    );
  router.post('/v1/registrants/import', requireRole(...EDITORS), rawCsv, async (req: Request, res: Response) => {
    const q = req.query as Record<string, unknown>;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const dryRun = flag(q.dryRun) ?? false;
    try {
      // With an Idempotency-Key a retried upload gets the first answer and stores nobody twice.
      const answer = await csv.importCsv(acting(req), body, { dryRun, invite: flag(q.invite) ?? false }, req.get('idempotency-key'));
      res.set('Cache-Control', 'no-store');
      if (dryRun) res.status(200).json(answer.body);
      else sendOnce(res, answer);
    } catch (err) {
      if (!(err instanceof ImportRejected)) throw err;
      importProblem(res, err);
    }
  });

  // Moving in with numbers: a multipart form (the file, and for a real import the password and the
  // reason). Numbers travel in the file only: never in the answer, a log line or an error.
  router.post('/v1/registrants/import-with-numbers', requireRole(...EDITORS), async (req: Request, res: Response) => {
    const { file, dryRun, password, reason } = numbersForm(req, MAX_IMPORT_BYTES);
    const b = { password, reason };
    try {
      const answer = await numbers.importWithNumbers(acting(req), file.buffer, { dryRun, password: b.password, reason: b.reason }, req.get('idempotency-key'));
      res.set('Cache-Control', 'no-store');
      if (dryRun) res.status(200).json(answer.body);
      else sendOnce(res, answer);
    } catch (err) {
      if (!(err instanceof ImportRejected)) throw err;
      importProblem(res, err);
    }
  });

  // The same file, as a job (workflows/import-job.ts): up to 100,000 lines, a batch at a time.
  router.post('/v1/import-jobs', requireRole(...EDITORS), async (req: Request, res: Response) => {
    const form = numbersForm(req, MAX_JOB_BYTES);
    try {
      const out = await jobs.start(acting(req), form.file.buffer, form, { key: req.get('idempotency-key') });
      res.set('Cache-Control', 'no-store');
      if ('report' in out) return void res.status(200).json(out.report);
      if (out.replayed) res.set('Idempotent-Replayed', 'true');
      res.status(202).location(`/v1/import-jobs/${out.job.id}`).json(out.job);
    } catch (err) {
      if (!(err instanceof ImportRejected)) throw err;
      importProblem(res, err);
    }
  });
  router.get('/v1/import-jobs', requireRole(...EDITORS), async (req, res) => {
    res.set('Cache-Control', 'no-store').json({ items: await jobs.list(acting(req)) });
  });
  router.get('/v1/import-jobs/:jobId', requireRole(...EDITORS), async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await jobs.get(acting(req), String(req.params.jobId)));
  });
  router.post('/v1/import-jobs/:jobId/cancel', requireRole(...EDITORS), async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await jobs.cancel(acting(req), String(req.params.jobId)));
  });
  return router;
}

/** The import form: the file (within `maxBytes`), the dry-run choice, the password and the reason. */
function numbersForm(req: Request, maxBytes: number): { file: UploadedFile; dryRun: boolean; password?: string; reason?: string } {
  const b = req.body as { password?: string; reason?: string; dryRun?: string };
  const file = ((req.files ?? []) as UploadedFile[]).find((f) => f.fieldname === 'file');
  if (!file) throw new AppError(400, 'FILE_REQUIRED', 'CSVファイルを選んでください', [{ path: '/body/file', message: 'CSVファイルを選んでください', code: 'FILE_REQUIRED' }]);
  if (file.buffer.length > maxBytes) throw new AppError(413, 'CSV_TOO_LARGE', `CSVファイルは${maxBytes / 1024 / 1024}MBまでです。ファイルを分けてアップロードしてください`);
  return { file, dryRun: flag(b.dryRun) ?? false, password: b.password, reason: b.reason };
}
