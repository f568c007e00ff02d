import {
  chatParamsSchema,
  listMessagesQuerySchema,
  parseOrThrow,
  type IdentityVerifier,
  type Message,
  type SyncBatchEntry,
  type SyncBatchResult,
} from '@cohort/common';
import type { AfterPage } from '../data/message.repository';
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
 * ?after=&limit=` would answer its user. The store is asked twice for the whole batch: once for the memberships,
 * once for the messages of every distinct page (sockets of one chat catching up from the same seq share a page).
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
  // The distinct pages the members asked for (sockets of one chat catching up from the same seq share one), all
  // read with one query.
  const pageIndex = new Map<string, number>();
  const pages: AfterPage[] = [];
  const pageOf = checked.map((c) => {
    if (!('userId' in c) || !members.has(memberKey(c.chatId, c.userId))) return undefined;
    const key = `${c.chatId}:${c.after}:${c.limit}`;
    let index = pageIndex.get(key);
    if (index === undefined) {
      index = pages.push({ chatId: c.chatId, after: c.after, limit: c.limit }) - 1;
      pageIndex.set(key, index);
    }
    return index;
  });
  let answered: Message[][] = [];
  // A failed read is one refusal for every entry that needed it, logged once (as the memberships' above).
  let readRefusal: SyncBatchResult | undefined;
  try {
    answered = await repos.messages.listAfterEach(pages);
  } catch (err) {
    readRefusal = batchEntryRefusal(logger, err, 'a sync batch', {
      requestIds: entries.filter((_, i) => pageOf[i] !== undefined).map((e) => e.requestId),
    });
  }
  return checked.map((c, i): SyncBatchResult => {
    const refuse = (err: unknown) =>
      batchEntryRefusal(logger, err, 'a sync batch', { requestId: entries[i]!.requestId });
    if (!('userId' in c)) return refuse(c.refused);
    const page = pageOf[i];
    if (page === undefined) return refuse(chatNotFound());
    return readRefusal ?? { status: 200, messages: answered[page] ?? [] };
  });
}
