/**
 * 収集メール一括送信 and 紙の登録依頼書 for many people (seed 001 ch. 7, 8): the review list HR ticks
 * before sending (everyone a filter matches, across pages, or the rows picked), and the paper sheets.
 *
 * The review says per person whether the invitation can go and why not (the workflow's own rules:
 * retirees, locked logins, submissions waiting for HR; for a mail, an address). Sending stays
 * `inviteMany` (mail) or `paper` here, so a person who changed between review and send is judged again.
 */
import { printedPaperCode } from '../../shared/paper-code';
import type { Registrant } from '../../prisma/generated/client';
import { LIFECYCLE_REFUSALS } from '../../shared';
import type { PrismaClient } from '../db/client';
import { AppError } from '../errors';
import type { Acting } from '../login-users/login-users';
import { openRound, type InvitationQrService } from './invitation-qr';
import type { LifecycleService } from './lifecycle';
import { BY_CODE_THEN_NAME, registrantsMatching, type RegistrantFilters } from './listing';
import { inLanes, START_CONCURRENCY } from './workflow-starts';

export type InviteChannel = 'mail' | 'paper';
type Refusal = keyof typeof LIFECYCLE_REFUSALS;

/** The most a review lists (the console sends them in calls of 500 mails or 100 sheets). */
export const REVIEW_LIMIT = 5000;
/** Sheets per call: one page each, printed at once. */
export const PAPER_BATCH = 100;
/** People of a paper call whose rounds are opened at once (as single creates' starts in flight). */
const PAPER_LANES = START_CONCURRENCY;

/** Why the invitation cannot go to this person by this channel, or null: the workflow's checkInvite, before asking it. */
export function invitationRefusal(r: Pick<Registrant, 'retired' | 'loginLocked' | 'status' | 'email'>, channel: InviteChannel): Refusal | null {
  if (r.retired) return 'NOT_INVITABLE_RETIRED';
  if (r.loginLocked) return 'NOT_INVITABLE_LOCKED';
  if (r.status === 'pending') return 'NOT_INVITABLE_PENDING';
  if (channel === 'mail' && !r.email) return 'NOT_INVITABLE_NO_EMAIL';
  return null;
}

export interface ReviewRequest {
  channel: InviteChannel;
  registrantIds?: string[];
  filter?: Omit<RegistrantFilters, 'cursor' | 'limit' | 'withTotal' | 'sort' | 'updatedSince'>;
}

export interface PaperSheet {
  familyName: string;
  givenName: string;
  employeeCode: string | null;
  expiresAt: string;
  qrSvg: string;
  /** the link's token as a 登録コード to type (ABCD-EFGH-JKMN-PQRS) … */
  registrationCode: string;
  /** … on this page, when the QR code cannot be read */
  codeEntryUrl: string;
}
export interface PaperResult {
  registrantId: string;
  outcome: 'issued' | 'pending' | 'skipped';
  code?: string;
  message?: string;
  sheet?: PaperSheet;
}

export function createInvitationBatches({ prisma, lifecycle, qr, now = () => Date.now() }: { prisma: PrismaClient; lifecycle: LifecycleService; qr: InvitationQrService; now?: () => number }) {
  return {
    async review(acting: Acting, req: ReviewRequest) {
      const byIds = req.registrantIds !== undefined;
      if (byIds === (req.filter !== undefined)) {
        throw new AppError(400, 'SELECTION_INVALID', '対象者の選び方を一つ指定してください（選択した人か、条件に合う全員）', [{ path: '/body', message: 'registrantIds か filter のどちらか一方を指定してください', code: 'one_of' }]);
      }
      const people = byIds
        ? await prisma.registrant.findMany({ where: { tenantId: acting.tenantId, id: { in: req.registrantIds! } }, orderBy: BY_CODE_THEN_NAME, take: REVIEW_LIMIT + 1 })
        : await registrantsMatching(prisma, acting.tenantId, req.filter!, REVIEW_LIMIT + 1);
      if (people.length > REVIEW_LIMIT) {
        throw new AppError(400, 'SELECTION_TOO_LARGE', `一度に確認できるのは${REVIEW_LIMIT.toLocaleString('ja-JP')}人までです。条件を絞り込んでください`, [{ path: '/body/filter', message: `条件に合う人が${REVIEW_LIMIT.toLocaleString('ja-JP')}人を超えています`, code: 'too_many' }]);
      }
      const at = now();
      const items = people.map((r) => {
        const refusal = invitationRefusal(r, req.channel);
        const open = openRound(r, at);
        return {
          registrantId: r.id,
          familyName: r.familyName,
          givenName: r.givenName,
          employeeCode: r.employeeCode,
          category: r.category,
          status: r.status,
          email: r.email,
          groupId: r.groupId,
          invitable: refusal === null,
          ...(refusal ? { code: refusal, message: LIFECYCLE_REFUSALS[refusal] } : {}),
          // What sending does to a round already open: a mail starts a new one (the links sent before
          // stop working); a sheet joins it (same expiry).
          ...(!refusal && open ? { note: req.channel === 'mail' ? '収集メール送信済みです。再送すると、前のメールのリンクは使えなくなります' : 'いまの登録用リンクと同じ有効期限の依頼書を発行します' } : {}),
        };
      });
      return { channel: req.channel, total: items.length, invitable: items.filter((x) => x.invitable).length, people: items };
    },

    /**
     * One sheet per person, in the order given: the round opens without a mail where none is open,
     * then the person's own printed link is issued (recorded, like a single QR code). A retry of the
     * whole call issues new sheets; the earlier ones keep working until the round ends.
     *
     * The rounds (a workflow update each: a round trip to Temporal and the worker) are opened
     * PAPER_LANES at a time; the sheets are then issued one after another, so a call holds one
     * pooled connection and one turn of the tenant's history lock at a time. Temporal or PostgreSQL
     * away stops the call: no new round is begun, those in flight finish, the sheets of everyone
     * whose round is open are issued, and the rest are left to a later call.
     */
    async paper(acting: Acting, ids: string[], key?: string): Promise<{ issued: number; pending: number; skipped: number; results: PaperResult[] }> {
      const found = new Map((await prisma.registrant.findMany({ where: { tenantId: acting.tenantId, id: { in: ids } } })).map((r) => [r.id, r]));
      const results: (PaperResult | undefined)[] = new Array(ids.length);
      const ready: boolean[] = new Array(ids.length).fill(false);
      let away: unknown;
      const skipped = (registrantId: string, code: string, message: string): PaperResult => ({ registrantId, outcome: 'skipped', code, message });
      /** Refused, or an error of the person's own: skipped with the reason. Anything else stops the call (an outage). */
      const ownError = (err: unknown): err is AppError => err instanceof AppError && err.status !== 503;

      await inLanes([...ids.keys()], PAPER_LANES, async (i) => {
        const registrantId = ids[i]!;
        const r = found.get(registrantId);
        if (!r) return (results[i] = skipped(registrantId, 'REGISTRANT_NOT_FOUND', '登録者が見つかりません'));
        const refusal = invitationRefusal(r, 'paper');
        if (refusal) return (results[i] = skipped(registrantId, refusal, LIFECYCLE_REFUSALS[refusal]));
        // A round already open needs no Temporal: its sheet is issued whatever happened to the others.
        if (openRound(r, now())) return (ready[i] = true);
        if (away !== undefined) return; // left for a later call
        try {
          if ((await lifecycle.openPaperRound(acting, r, key)).state === 'pending') {
            return (results[i] = { registrantId, outcome: 'pending', message: '受け付けました。しばらくしてから、もう一度印刷してください' });
          }
          ready[i] = true;
        } catch (err) {
          if (ownError(err)) results[i] = skipped(registrantId, err.code, err.title);
          else away ??= err;
        }
      });

      let sheetsAway: unknown;
      for (const [i, registrantId] of ids.entries()) {
        if (!ready[i] || sheetsAway !== undefined) continue;
        try {
          const r = found.get(registrantId)!;
          const link = await qr.issueLink(acting, registrantId, 'paper');
          results[i] = {
            registrantId,
            outcome: 'issued',
            sheet: {
              familyName: r.familyName,
              givenName: r.givenName,
              employeeCode: r.employeeCode,
              expiresAt: link.expiresAt.toISOString(),
              qrSvg: (await qr.render(link.url, 'svg')) as string,
              registrationCode: printedPaperCode(link.token),
              codeEntryUrl: qr.codeEntryUrl,
            },
          };
        } catch (err) {
          if (ownError(err)) results[i] = skipped(registrantId, err.code, err.title);
          else sheetsAway = err;
        }
      }
      // Sheets already issued are live links (recorded as printed): they are answered. With none,
      // the call fails as a whole.
      const stopped = away ?? sheetsAway;
      if (stopped !== undefined && !results.some((r) => r?.outcome === 'issued')) throw stopped;
      const answered = ids.map(
        (registrantId, i) => results[i] ?? { registrantId, outcome: 'pending' as const, code: 'TRY_AGAIN_LATER', message: '一時的に発行できませんでした。しばらくしてから、もう一度印刷してください' },
      );
      const count = (outcome: PaperResult['outcome']) => answered.filter((x) => x.outcome === outcome).length;
      return { issued: count('issued'), pending: count('pending'), skipped: count('skipped'), results: answered };
    },
  };
}
export type InvitationBatches = ReturnType<typeof createInvitationBatches>;
