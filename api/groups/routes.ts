/** グループ管理 (tag "groups"): every role reads; owners and managers change. */
import { Router } from 'express';
import type { components } from '../generated/openapi';
import type { GroupService } from '../../services/groups/groups';
import { ANY_ROLE, EDITORS, callerOf, requireRole } from '../auth/middleware';
import { acting } from '../login-users/routes';

type Schemas = components['schemas'];

export function groupRoutes(service: GroupService): Router {
  const router = Router();
  router.get('/v1/groups', requireRole(...ANY_ROLE), async (req, res) => {
    const groups: Schemas['Group'][] = await service.list(callerOf(req).tenant.id);
    res.json(groups);
  });
  router.post('/v1/groups', requireRole(...EDITORS), async (req, res) => {
    const created: Schemas['Group'] = await service.create(acting(req), req.body as Schemas['GroupInput']);
    res.status(201).location(`/v1/groups/${created.id}`).json(created);
  });
  router.patch('/v1/groups/:groupId', requireRole(...EDITORS), async (req, res) => {
    res.json(await service.rename(acting(req), req.params.groupId as string, req.body as Schemas['GroupInput']));
  });
  router.delete('/v1/groups/:groupId', requireRole(...EDITORS), async (req, res) => {
    await service.remove(acting(req), req.params.groupId as string);
    res.status(204).end();
  });
  router.put('/v1/groups/:groupId/members', requireRole(...EDITORS), async (req, res) => {
    res.json(await service.changeMembers(acting(req), req.params.groupId as string, req.body as Schemas['GroupMembersChange']));
  });
  return router;
}
