import {
  chatParamsSchema,
  listMessagesQuerySchema,
  parseOrThrow,
  type IdentityVerifier,
  type Message,
  type SyncBatchEntry,
  type SyncBatchResult,
} from '@cohort/common';
import { memberKey } from '../data/membership.repository';
import { chatNotFound } from './access';
import { batchEntryRefusal } from './batch-entry-refusal';
import type { UseCaseDeps } from './deps';

interface Checked {
  userId: string;
  chatId: string;
  after: number;
  limit: number;
}

/**
 * POST /internal/sync-batches (realtime's `chat:sync`): each entry is answered as `GET /api/chats/:chatId/messages
 * ?after=&limit=` would answer its user. The store is asked once for the memberships of the whole batch, then once
 * per distinct page: sockets of one chat catching up from the same seq (a reconnect storm) share one read.
 */
export async function listMessagesBatch(
  deps: UseCaseDeps,
  verifyIdentity: IdentityVerifier,
  entries: readonly SyncBatchEntry[],
): Promise<SyncBatchResult[]> {
  const { repos, logger } = deps;
  const checked = await Promise.all(
    entries.map(async (entry): Promise<Checked | { refused: unknown }> => {
      try {
        const { userId } = await verifyIdentity(entry.identity);
        const { chatId } = parseOrThrow(chatParamsSchema, { chatId: entry.chatId });
        const { after = 0, limit } = parseOrThrow(listMessagesQuerySchema, {
          after: entry.afterSeq,
          limit: entry.limit,
        });
        return { userId, chatId, after, limit };
      } catch (err) {
        return { refused: err };
      }
    }),
  );
  const asked = checked.filter((c): c is Checked => 'userId' in c);
  let members: Set<string>;
  try {
    members = await repos.memberships.pairsAmong(asked);
  } catch (err) {
    const refusal = batchEntryRefusal(logger, err, 'a sync batch', {
      requestIds: entries.map((e) => e.requestId),
    });
    return checked.map((c, i) =>
      'userId' in c
        ? refusal
        : batchEntryRefusal(logger, c.refused, 'a sync batch', { requestId: entries[i]!.requestId }),
    );
  }
  const pages = new Map<string, Promise<Message[]>>();
  const pageOf = ({ chatId, after, limit }: Checked) => {
    const key = `${chatId}:${after}:${limit}`;
    let page = pages.get(key);
    if (!page) {
      page = repos.messages.list(chatId, { after, limit });
      // Awaited below, by every entry reading it; a failure must not surface as unhandled meanwhile.
      page.catch(() => undefined);
      pages.set(key, page);
    }
    return page;
  };
  return Promise.all(
    checked.map(async (c, i): Promise<SyncBatchResult> => {
      const refuse = (err: unknown) =>
        batchEntryRefusal(logger, err, 'a sync batch', { requestId: entries[i]!.requestId });
      if (!('userId' in c)) return refuse(c.refused);
      if (!members.has(memberKey(c.chatId, c.userId))) return refuse(chatNotFound());
      return pageOf(c).then((messages) => ({ status: 200 as const, messages }), refuse);
    }),
  );
}
