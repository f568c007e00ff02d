import { describe, expect, it } from 'vitest';
import { ackError, ApiError } from '../errors';
import { isTransient } from './outbox';

describe('isTransient (what a send retries by itself)', () => {
  it("retries realtime's upstream_timeout and upstream_unavailable acks, and the older timeout/unavailable", () => {
    for (const code of ['upstream_timeout', 'upstream_unavailable', 'timeout', 'unavailable']) {
      expect(isTransient(ackError({ code, message: 'm' }))).toBe(true);
      // Whatever status came with the code (older code paths marked every refused ack 400).
      expect(isTransient(new ApiError(400, code, 'm'))).toBe(true);
    }
  });

  it('retries network failures, lost acks and server errors', () => {
    expect(isTransient(new ApiError(0, 'network_error', 'offline'))).toBe(true);
    expect(isTransient(new ApiError(0, 'timeout', 'no answer'))).toBe(true);
    expect(isTransient(new ApiError(503, 'sequence_contention', 'busy chat'))).toBe(true);
    expect(isTransient(new ApiError(502, 'http_502', 'bad gateway'))).toBe(true);
    // The store briefly away (a restart): an ack with that code is retried like any outage.
    expect(isTransient(ackError({ code: 'store_unavailable', message: 'store away' }))).toBe(true);
    expect(isTransient(new Error('anything else thrown'))).toBe(true);
  });

  it('never retries refusals: rate limits, blocks, validation, missing chats', () => {
    expect(isTransient(new ApiError(429, 'rate_limited', 'slow down', 5))).toBe(false);
    expect(isTransient(ackError({ code: 'rate_limited', message: 'slow down' }))).toBe(false);
    expect(isTransient(new ApiError(403, 'blocked', 'blocked'))).toBe(false);
    expect(isTransient(ackError({ code: 'blocked', message: 'blocked' }))).toBe(false);
    expect(isTransient(new ApiError(400, 'validation_error', 'bad'))).toBe(false);
    expect(isTransient(ackError({ code: 'chat_not_found', message: 'gone' }))).toBe(false);
  });
});
