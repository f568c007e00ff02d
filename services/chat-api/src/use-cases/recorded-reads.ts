import type { Repositories } from './deps';
import type { StoredMessagesRecorder } from './record-stored-messages';

/**
 * `repos`, with the reads that show bookkeeping (a chat's lastSeq and lastMessageAt, its members' read markers and
 * activity order) writing this process's pending bookkeeping first: a client answered for a send sees it in its
 * chat list and unread counts on its next request (record-stored-messages.ts). The send path's own reads
 * (membership, blocks, references, the chat type) do not wait: they do not show these values.
 */
export function withRecordedReads(
  repos: Repositories,
  recorder: Pick<StoredMessagesRecorder, 'flush'>,
): Repositories {
  const afterFlush =
    <A extends unknown[], R>(read: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await recorder.flush();
      return read(...args);
    };
  return {
    ...repos,
    chats: {
      ...repos.chats,
      findById: afterFlush(repos.chats.findById),
      findByIds: afterFlush(repos.chats.findByIds),
    },
    memberships: {
      ...repos.memberships,
      listByChat: afterFlush(repos.memberships.listByChat),
      pageByActivity: afterFlush(repos.memberships.pageByActivity),
    },
  };
}
