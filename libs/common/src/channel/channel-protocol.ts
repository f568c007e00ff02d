import { z } from 'zod';

/**
 * The internal channel (docs/architecture.md): one long-lived WebSocket from a service to another's HTTP port that
 * carries POST calls as frames, instead of an HTTP request each. The path it is upgraded on.
 */
export const INTERNAL_CHANNEL_PATH = '/internal/channel';

/**
 * A call: `POST path` with `body`, numbered by the caller per connection. No identity: the channel carries only
 * calls whose entries each carry and are checked against their own (realtime's batches, docs/security.md).
 */
export const channelCallSchema = z.object({
  id: z.number().int().nonnegative(),
  path: z.string().max(200),
  requestId: z.string().max(200),
  body: z.unknown(),
});
export type ChannelCall = z.infer<typeof channelCallSchema>;

/** Its answer: the status and body HTTP would have answered, and Retry-After when that answer has one. */
export const channelAnswerSchema = z.object({
  id: z.number(),
  status: z.number().int(),
  body: z.unknown(),
  retryAfter: z.string().optional(),
});
export type ChannelAnswer = z.infer<typeof channelAnswerSchema>;

/** The server's notice that it is draining: it answers what it has, takes no further call, then closes (1001). */
export const DRAIN_NOTICE = '{"drain":true}';

/** A call frame's bound: the HTTP body limit (64 KB) and room for the envelope. */
export const CHANNEL_MAX_CALL_BYTES = 65 * 1024;

/** TCP keep-alive on both ends of a channel connection: a peer gone without a FIN (a host lost) is noticed. */
export const CHANNEL_TCP_KEEP_ALIVE_MS = 30_000;
