import { z } from 'zod';
import { forwardedEntryShape } from './batch-entry';

/**
 * `POST /internal/membership-batches`: realtime asks chat-api for the memberships of many handshakes in one
 * request rather than one `GET /internal/memberships` each (never routed by the gateway). Every lookup carries
 * its own user's forwarded identity (the `x-cohort-identity` value) and request id and is answered on its own,
 * exactly as `GET /internal/memberships` would answer that user: one lookup's refusal never fails the others.
 */
export const MEMBERSHIP_BATCH_MAX = 100;

/** The most block partners one answer carries, in the single and the batched form. */
export const BLOCK_PARTNERS_MAX = 1000;

export const membershipBatchBodySchema = z.strictObject({
  lookups: z.array(z.strictObject(forwardedEntryShape)).min(1).max(MEMBERSHIP_BATCH_MAX),
});
export type MembershipBatchBody = z.infer<typeof membershipBatchBodySchema>;
export type MembershipLookup = MembershipBatchBody['lookups'][number];

/** What a socket needs at its handshake: the rooms of its chats, and whom to keep out of typing and presence. */
export const membershipsSchema = z.object({
  /** Ids of the user's chats. */
  chatIds: z.array(z.string()),
  /** Users the user blocked or who blocked the user: no typing or presence either way. */
  blockPartners: z.array(z.string()).max(BLOCK_PARTNERS_MAX),
});
export type Memberships = z.infer<typeof membershipsSchema>;

const lookupErrorSchema = z.object({
  status: z.number().int(),
  error: z.object({ code: z.string(), message: z.string(), errorId: z.string().optional() }),
});

/** One answer per lookup, in lookup order: 200 with the memberships, or the status and error the GET would give. */
export const membershipBatchResponseSchema = z.object({
  results: z.array(z.union([membershipsSchema.extend({ status: z.literal(200) }), lookupErrorSchema])),
});
export type MembershipBatchResponse = z.infer<typeof membershipBatchResponseSchema>;
export type MembershipBatchResult = MembershipBatchResponse['results'][number];
