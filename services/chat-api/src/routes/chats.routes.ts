import { Router } from 'express';
import {
  addMemberBodySchema,
  chatParamsSchema,
  createChatBodySchema,
  listChatsQuerySchema,
  memberParamsSchema,
  parseOrThrow,
  readMarkerBodySchema,
  renameChatBodySchema,
} from '@cohort/common';
import type { UseCaseDeps } from '../use-cases/deps';
import { createChat } from '../use-cases/create-chat';
import { listChats } from '../use-cases/list-chats';
import { getChat } from '../use-cases/get-chat';
import { addMember } from '../use-cases/add-member';
import { removeMember } from '../use-cases/remove-member';
import { markRead } from '../use-cases/mark-read';
import { renameChat } from '../use-cases/rename-chat';
import { callerOf } from './caller';

/** /api/chats, /api/chats/:chatId (read, rename), members and read markers. Mounted behind `requireIdentity`. */
export function chatsRouter(deps: UseCaseDeps): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const body = parseOrThrow(createChatBodySchema, req.body);
    const { chat, created } = await createChat(deps, callerOf(req), body);
    res.status(created ? 201 : 200).json({ chat });
  });

  router.get('/', async (req, res) => {
    const query = parseOrThrow(listChatsQuerySchema, req.query);
    res.json(await listChats(deps, callerOf(req), query));
  });

  router.get('/:chatId', async (req, res) => {
    const { chatId } = parseOrThrow(chatParamsSchema, req.params);
    res.json({ chat: await getChat(deps, callerOf(req), chatId) });
  });

  router.patch('/:chatId', async (req, res) => {
    const { chatId } = parseOrThrow(chatParamsSchema, req.params);
    const { title } = parseOrThrow(renameChatBodySchema, req.body);
    res.json({ chat: await renameChat(deps, callerOf(req), chatId, title) });
  });

  router.post('/:chatId/members', async (req, res) => {
    const { chatId } = parseOrThrow(chatParamsSchema, req.params);
    const { userId } = parseOrThrow(addMemberBodySchema, req.body);
    const { chat, added } = await addMember(deps, callerOf(req), chatId, userId);
    res.status(added ? 201 : 200).json({ chat });
  });

  router.delete('/:chatId/members/:userId', async (req, res) => {
    const { chatId, userId } = parseOrThrow(memberParamsSchema, req.params);
    await removeMember(deps, callerOf(req), chatId, userId);
    res.status(204).end();
  });

  router.post('/:chatId/read', async (req, res) => {
    const { chatId } = parseOrThrow(chatParamsSchema, req.params);
    const { seq } = parseOrThrow(readMarkerBodySchema, req.body);
    await markRead(deps, callerOf(req), chatId, seq);
    res.status(204).end();
  });

  return router;
}
