import type { MembershipDirectory } from '@cohort/common';
import type { Repositories } from './deps';

/**
 * `repos`, with every write that changes what a user's memberships lookup answers (their chats, their block
 * partners) made inside the membership directory's `change` for the users it touches, so realtime never reads an
 * entry older than the store. These four methods are the only writers of memberships and blocks.
 */
export function withDirectoryInvalidation(
  repos: Repositories,
  directory: Pick<MembershipDirectory, 'change'>,
): Repositories {
  const { memberships, blocks } = repos;
  return {
    ...repos,
    memberships: {
      ...memberships,
      add: (chatId, members, now, activityAt) =>
        directory.change(
          members.map((m) => m.userId),
          () => memberships.add(chatId, members, now, activityAt),
        ),
      remove: (chatId, userId) => directory.change([userId], () => memberships.remove(chatId, userId)),
    },
    blocks: {
      ...blocks,
      block: (blockerId, blockedId, now) =>
        directory.change([blockerId, blockedId], () => blocks.block(blockerId, blockedId, now)),
      unblock: (blockerId, blockedId) =>
        directory.change([blockerId, blockedId], () => blocks.unblock(blockerId, blockedId)),
    },
  };
}
