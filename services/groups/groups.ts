/**
 * グループ管理 (seed 001 ch.6): departments, branches or shops HR sorts registrants into. A registrant
 * is in at most one group (registrants.group_id); deleting a group leaves its members group-less.
 * Every change is recorded in the operation history; group names are not personal data, so the
 * history keeps them, but never the members' names (only their ids).
 */
import { Prisma, type Group } from '../../prisma/generated/client';
import type { History } from '../audit/types';
import { isUniqueViolation, type PrismaClient } from '../db/client';
import { AppError } from '../errors';
import { actorOf, type Acting } from '../login-users/login-users';

export interface GroupView {
  id: string;
  name: string;
  memberCount: number;
  createdAt: string;
}

export interface MembersChange {
  add?: string[];
  remove?: string[];
}

/** Seed 001 and the CSV upload's グループ column: up to 100 characters. */
export const GROUP_NAME_MAX = 100;
/** Registrants one membership call may move. */
export const MAX_MEMBER_CHANGES = 1000;

/** READ COMMITTED: the history's chain lock requires it. */
const TX = { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted } as const;

const NOT_FOUND = () => new AppError(404, 'GROUP_NOT_FOUND', 'グループが見つかりません');
const NAME_TAKEN = () =>
  new AppError(409, 'GROUP_NAME_TAKEN', '同じ名前のグループが既にあります。別の名前を入力してください', [
    { path: '/body/name', code: 'GROUP_NAME_TAKEN', message: '同じ名前のグループが既にあります' },
  ]);
const invalid = (errors: { path: string; code: string; message: string }[]) => new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', errors);


/** Trimmed (full-width spaces too), 1 to 100 characters (counted as people see them). */
export function checkGroupName(input: unknown): string {
  const name = typeof input === 'string' ? input.replace(/^[\s\u3000]+|[\s\u3000]+$/g, '') : '';
  if (name === '') throw invalid([{ path: '/body/name', code: 'REQUIRED', message: 'グループ名を入力してください' }]);
  if ([...name].length > GROUP_NAME_MAX) throw invalid([{ path: '/body/name', code: 'TOO_LONG', message: `グループ名は${GROUP_NAME_MAX}文字以内で入力してください` }]);
  return name;
}

/** UTF-8 byte order is code point order (and PostgreSQL's C collation). */
const byCodePoint = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

const view = (g: Group, memberCount: number): GroupView => ({ id: g.id, name: g.name, memberCount, createdAt: g.createdAt.toISOString() });

export interface GroupServiceDeps {
  prisma: PrismaClient;
  history: History;
}

export function createGroupService({ prisma, history }: GroupServiceDeps) {
  type Db = Prisma.TransactionClient | PrismaClient;
  const find = async (tenantId: string, id: string, db: Db = prisma) => {
    const g = await db.group.findFirst({ where: { id, tenantId } });
    if (!g) throw NOT_FOUND();
    return g;
  };
  const members = (groupId: string, db: Db = prisma) => db.registrant.count({ where: { groupId } });
  const facts = (acting: Acting) => ({ tenantId: acting.tenantId, actor: actorOf(acting.user), ip: acting.ip, userAgent: acting.userAgent });

  return {
    /**
     * Every group of the tenant with its member count, by name — in code point order, the same
     * whatever collation the database was created with (a tenant has tens of groups, not thousands).
     */
    async list(tenantId: string): Promise<GroupView[]> {
      const groups = await prisma.group.findMany({ where: { tenantId }, include: { _count: { select: { registrants: true } } } });
      return groups.sort((a, b) => byCodePoint(a.name, b.name) || byCodePoint(a.id, b.id)).map((g) => view(g, g._count.registrants));
    },

    async create(acting: Acting, input: { name: string }): Promise<GroupView> {
      const name = checkGroupName(input.name);
      try {
        return await prisma.$transaction(async (tx) => {
          if (await tx.group.findFirst({ where: { tenantId: acting.tenantId, name }, select: { id: true } })) throw NAME_TAKEN();
          const g = await tx.group.create({ data: { tenantId: acting.tenantId, name } });
          await history.record({ ...facts(acting), operation: 'group_created', detail: { groupId: g.id, name } }, tx);
          return view(g, 0);
        }, TX);
      } catch (err) {
        if (isUniqueViolation(err)) throw NAME_TAKEN();
        throw err;
      }
    },

    async rename(acting: Acting, id: string, input: { name: string }): Promise<GroupView> {
      const name = checkGroupName(input.name);
      try {
        return await prisma.$transaction(async (tx) => {
          const before = await find(acting.tenantId, id, tx);
          if (before.name === name) return view(before, await members(id, tx));
          if (await tx.group.findFirst({ where: { tenantId: acting.tenantId, name, NOT: { id } }, select: { id: true } })) throw NAME_TAKEN();
          const g = await tx.group.update({ where: { id }, data: { name } });
          await history.record({ ...facts(acting), operation: 'group_updated', detail: { groupId: id, before: before.name, after: name } }, tx);
          return view(g, await members(id, tx));
        }, TX);
      } catch (err) {
        if (isUniqueViolation(err)) throw NAME_TAKEN();
        throw err;
      }
    },

    /** The group goes; its members stay, without a group (and count as changed for payroll's sync). */
    async remove(acting: Acting, id: string): Promise<void> {
      await prisma.$transaction(async (tx) => {
        const g = await find(acting.tenantId, id, tx);
        const freed = await tx.registrant.updateMany({ where: { tenantId: acting.tenantId, groupId: id }, data: { groupId: null } });
        await tx.group.delete({ where: { id } });
        await history.record({ ...facts(acting), operation: 'group_deleted', detail: { groupId: id, name: g.name, members: freed.count } }, tx);
      }, TX);
    },

    /**
     * メンバー登録: `add` moves registrants into the group (out of another one if need be); `remove`
     * takes them out, but only those in this group. Every id must be a registrant of the tenant, else
     * nothing changes.
     */
    async changeMembers(acting: Acting, id: string, input: MembersChange): Promise<GroupView> {
      const add = [...new Set(input.add ?? [])];
      const remove = [...new Set(input.remove ?? [])];
      const errors: { path: string; code: string; message: string }[] = [];
      if (add.length > MAX_MEMBER_CHANGES || remove.length > MAX_MEMBER_CHANGES) {
        throw invalid([{ path: '/body', code: 'TOO_MANY', message: `一度に変更できるのは${MAX_MEMBER_CHANGES}人までです` }]);
      }
      const adding = new Set(add);
      (input.remove ?? []).forEach((r, i) => {
        if (adding.has(r)) errors.push({ path: `/body/remove/${i}`, code: 'ADD_AND_REMOVE', message: '同じ登録者を追加と解除の両方に指定することはできません' });
      });
      if (errors.length) throw invalid(errors);

      return prisma.$transaction(async (tx) => {
        // Held until commit: a deletion of the group at the same moment waits, or has already happened (404).
        const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM groups WHERE id = ${id}::uuid AND tenant_id = ${acting.tenantId}::uuid FOR SHARE`;
        if (locked.length === 0) throw NOT_FOUND();
        const g = await find(acting.tenantId, id, tx);
        const ids = [...add, ...remove];
        const known = new Set(ids.length ? (await tx.registrant.findMany({ where: { tenantId: acting.tenantId, id: { in: ids } }, select: { id: true } })).map((r) => r.id) : []);
        for (const [field, list] of [['add', input.add ?? []], ['remove', input.remove ?? []]] as const) {
          list.forEach((r, i) => {
            if (!known.has(r)) errors.push({ path: `/body/${field}/${i}`, code: 'REGISTRANT_NOT_FOUND', message: '登録者が見つかりません' });
          });
        }
        if (errors.length) throw new AppError(404, 'REGISTRANT_NOT_FOUND', '指定された登録者が見つかりません（グループは変更していません）', errors);

        const added = add.length ? await tx.registrant.findMany({ where: { tenantId: acting.tenantId, id: { in: add }, OR: [{ groupId: null }, { groupId: { not: id } }] }, select: { id: true } }) : [];
        const removed = remove.length ? await tx.registrant.findMany({ where: { tenantId: acting.tenantId, id: { in: remove }, groupId: id }, select: { id: true } }) : [];
        if (added.length) await tx.registrant.updateMany({ where: { id: { in: added.map((r) => r.id) } }, data: { groupId: id } });
        if (removed.length) await tx.registrant.updateMany({ where: { id: { in: removed.map((r) => r.id) } }, data: { groupId: null } });
        if (added.length || removed.length) {
          await history.record(
            { ...facts(acting), operation: 'group_members_changed', detail: { groupId: id, name: g.name, added: added.map((r) => r.id), removed: removed.map((r) => r.id) } },
            tx,
          );
        }
        return view(g, await members(id, tx));
      }, TX);
    },
  };
}

export type GroupService = ReturnType<typeof createGroupService>;
