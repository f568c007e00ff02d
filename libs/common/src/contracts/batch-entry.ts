import { z } from 'zod';

/**
 * What every entry of an internal batch (`/internal/*-batches`, realtime → chat-api) carries: its own user's
 * forwarded identity (the `x-cohort-identity` value) and its own request id.
 */
export const forwardedEntryShape = {
  identity: z.string().min(1).max(8192),
  requestId: z.string().min(1).max(200),
};

/** An entry's refusal: the status and error body its single route would answer. */
export interface BatchEntryError {
  status: number;
  error: { code: string; message: string; errorId?: string };
}
