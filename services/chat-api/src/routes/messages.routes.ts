import { Router } from 'express';
import {
  chatParamsSchema,
  editMessageBodySchema,
  listMessagesQuerySchema,
  messageParamsSchema,
  parseOrThrow,
  reactionParamsSchema,
  sendMessageBodySchema,
} from '@cohort/common';
import type { UseCaseDeps } from '../use-cases/deps';
import { listMessages } from '../use-cases/list-messages';
import { sendMessage } from '../use-cases/send-message';
import { editMessage } from '../use-cases/edit-message';
import { deleteMessage } from '../use-cases/delete-message';
import { addReaction, removeReaction } from '../use-cases/react-to-message';
import { callerOf } from './caller';

/** /api/chats/:chatId/messages[/:messageId[/reactions/:emoji]]. Mounted behind `requireIdentity`. */
export function messagesRouter(deps: UseCaseDeps): Router {
  const router = Router({ mergeParams: true });

  router.get('/', async (req, res) => {
    const { chatId } = parseOrThrow(chatParamsSchema, req.params);
    const query = parseOrThrow(listMessagesQuerySchema, req.query);
    res.json({ messages: await listMessages(deps, callerOf(req), chatId, query) });
  });

  router.post('/', async (req, res) => {
    const { chatId } = parseOrThrow(chatParamsSchema, req.params);
    const body = parseOrThrow(sendMessageBodySchema, req.body);
    const { message, created } = await sendMessage(deps, callerOf(req), chatId, body);
    res.status(created ? 201 : 200).json({ message });
  });

  router.patch('/:messageId', async (req, res) => {
    const { chatId, messageId } = parseOrThrow(messageParamsSchema, req.params);
    const { text, mentions } = parseOrThrow(editMessageBodySchema, req.body);
    res.json({ message: await editMessage(deps, callerOf(req), chatId, messageId, text, mentions) });
  });

  router.delete('/:messageId', async (req, res) => {
    const { chatId, messageId } = parseOrThrow(messageParamsSchema, req.params);
    await deleteMessage(deps, callerOf(req), chatId, messageId);
    res.status(204).end();
  });

  router.put('/:messageId/reactions/:emoji', async (req, res) => {
    const { chatId, messageId, emoji } = parseOrThrow(reactionParamsSchema, req.params);
    await addReaction(deps, callerOf(req), chatId, messageId, emoji);
    res.status(204).end();
  });

  router.delete('/:messageId/reactions/:emoji', async (req, res) => {
    const { chatId, messageId, emoji } = parseOrThrow(reactionParamsSchema, req.params);
    await removeReaction(deps, callerOf(req), chatId, messageId, emoji);
    res.status(204).end();
  });

  return router;
}
