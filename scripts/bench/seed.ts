/**
 * A tenant's registrants seeded in SQL, in every state — not invited, invited, link opened,
 * answers saved, submitted, approved, remanded, retired with deletion dates — across 20 groups, with
 * their links, drafts and a few mails the server has not taken. `i % 20` picks a person's state.
 */
import type { PrismaClient } from '../../services/db/client';

export async function seedRegistrants(prisma: PrismaClient, t: string, people: number): Promise<void> {
  await prisma.$executeRaw`INSERT INTO groups (id, tenant_id, name) SELECT gen_random_uuid(), ${t}::uuid, '部署' || g FROM generate_series(1, 20) g`;
  // i % 20 picks the state: unregistered (not invited / invited / opened / in progress), pending, completed, remanded, retired.
  await prisma.$executeRaw`
    INSERT INTO registrants (id, tenant_id, group_id, family_name, given_name, status, invitation_state, invitation_expires_at, submitted_at, retired, deletion_due_date, workflow_id, updated_at)
    SELECT gen_random_uuid(), ${t}::uuid,
           (SELECT id FROM groups WHERE tenant_id = ${t}::uuid ORDER BY name OFFSET (i % 20) LIMIT 1),
           '試験', '太郎' || i,
           (CASE WHEN i % 20 < 8 THEN 'unregistered' WHEN i % 20 < 11 THEN 'pending' WHEN i % 20 < 17 THEN 'completed' WHEN i % 20 < 18 THEN 'remanded' ELSE 'completed' END)::"Status",
           (CASE WHEN i % 20 BETWEEN 2 AND 7 THEN 'open' WHEN i % 20 < 17 AND i % 20 >= 8 THEN 'closed' ELSE NULL END)::"InvitationState",
           CASE WHEN i % 20 BETWEEN 2 AND 7 THEN now() + ((i % 90) || ' days')::interval END,
           CASE WHEN i % 20 BETWEEN 8 AND 10 THEN now() - ((i % 30) || ' days')::interval END,
           i % 20 >= 18,
           CASE WHEN i % 20 >= 18 THEN (now() + ((i % 365) || ' days')::interval)::date END,
           'bench-' || gen_random_uuid(), now()
      FROM generate_series(1, ${people}) i`;
  // Links for the invited; a third of them opened.
  await prisma.$executeRaw`
    INSERT INTO invitations (id, registrant_id, issue_key, token_hash, expires_at, opened_at)
    SELECT gen_random_uuid(), r.id, 'bench/' || r.id, md5(r.id::text), r.invitation_expires_at,
           CASE WHEN (hashtext(r.id::text) & 3) = 0 THEN now() END
      FROM registrants r WHERE r.tenant_id = ${t}::uuid AND r.invitation_state = 'open'`;
  // Drafts for a sixth of the invited (answers saved, not sent).
  await prisma.$executeRaw`
    WITH drafted AS (SELECT id FROM registrants WHERE tenant_id = ${t}::uuid AND invitation_state = 'open' AND (hashtext(id::text) & 7) = 1),
         secrets AS (INSERT INTO vault_secrets (id, tenant_id, kind, ciphertext, iv, auth_tag, wrapped_key, key_id)
                     SELECT gen_random_uuid(), ${t}::uuid, 'draft', '\\x00', '\\x00', '\\x00', '\\x00', 'bench' FROM drafted RETURNING id),
         pairs AS (SELECT d.id AS rid, s.id AS sid FROM (SELECT id, row_number() OVER () n FROM drafted) d JOIN (SELECT id, row_number() OVER () n FROM secrets) s USING (n))
    UPDATE registrants r SET draft_secret_id = p.sid FROM pairs p WHERE r.id = p.rid`;
  // A few mails the server has not taken for 20 minutes.
  await prisma.$executeRaw`
    INSERT INTO mail_deliveries (key, recipient, kind, created_at)
    SELECT r.workflow_id || '/run/round/1/invitation', 'x@example.jp', 'invitation', now() - interval '20 minutes'
      FROM registrants r WHERE r.tenant_id = ${t}::uuid AND r.invitation_state = 'open' LIMIT 50`;
}
