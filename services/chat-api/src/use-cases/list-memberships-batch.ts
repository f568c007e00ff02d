import {
  BLOCK_PARTNERS_MAX,
  type IdentityVerifier,
  type MembershipBatchResult,
  type MembershipLookup,
} from '@cohort/common';
import { batchEntryRefusal } from './batch-entry-refusal';
import type { UseCaseDeps } from './deps';

/**
 * POST /internal/membership-batches: each lookup is answered as `GET /internal/memberships` would answer its user
 * (the chats whose rooms the socket joins, the users in a block relation either way), under the identity it
 * carries. The store is asked once for the whole batch: three queries, however many handshakes it serves.
 */
export async function listMembershipsBatch(
  deps: UseCaseDeps,
  verifyIdentity: IdentityVerifier,
  lookups: readonly MembershipLookup[],
): Promise<MembershipBatchResult[]> {
  const verified = await Promise.all(
    lookups.map(async ({ identity }): Promise<{ userId: string } | { refused: unknown }> => {
      try {
        return { userId: (await verifyIdentity(identity)).userId };
      } catch (err) {
        return { refused: err };
      }
    }),
  );
  const userIds = verified.flatMap((v) => ('userId' in v ? [v.userId] : []));
  const found = await membershipsOfEach(deps, userIds).catch((err: unknown) =>
    batchEntryRefusal(deps.logger, err, 'a membership batch', {
      requestIds: lookups.map((l) => l.requestId),
    }),
  );
  return verified.map((v, i): MembershipBatchResult => {
    if (!('userId' in v)) {
      return batchEntryRefusal(deps.logger, v.refused, 'a membership batch', {
        requestId: lookups[i]!.requestId,
      });
    }
    if ('status' in found) return found;
    return {
      status: 200,
      chatIds: found.chatIds.get(v.userId) ?? [],
      blockPartners: found.partners.get(v.userId) ?? [],
    };
  });
}

/**
 * The chats and block partners of each of `userIds`: three store queries for the whole list. `GET
 * /internal/memberships` asks it for one user, so the single and the batched answers are the same code's. The
 * answers fill the membership directory (realtime's next handshake of these users reads it instead), under the
 * versions read before the store was: a change that raced these reads refuses the fill.
 */
export async function membershipsOfEach({ repos, directory }: UseCaseDeps, userIds: readonly string[]) {
  const versions = await directory?.versions(userIds);
  const [chatIds, partners] = await Promise.all([
    repos.memberships.chatIdsOfEach(userIds),
    repos.blocks.blockPartnersOfEach(userIds, BLOCK_PARTNERS_MAX),
  ]);
  if (directory && versions) {
    const entries = new Map(
      userIds.map((userId) => [
        userId,
        { chatIds: chatIds.get(userId) ?? [], blockPartners: partners.get(userId) ?? [] },
      ]),
    );
    // Not awaited: the answer does not wait for Redis, and a fill that fails costs only a later lookup.
    void directory.fill(entries, versions);
  }
  return { chatIds, partners };
}
