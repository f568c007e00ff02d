import { describe, expect, it } from 'vitest';
import { ackError, ApiError, describeError, formatWait, parseRetryAfter } from './errors';

describe('describeError', () => {
  it('turns a 429 into a plain sentence with the wait from Retry-After', () => {
    const err = new ApiError(429, 'rate_limited', 'Too many requests', 12);
    expect(describeError(err)).toBe("You're doing that too often — try again in 12 s.");
    expect(describeError(err, 'send')).toBe("You're doing that too often — try again in 12 s.");
  });

  it('says "in a moment" when the 429 came without Retry-After (socket acks, a proxy page)', () => {
    expect(describeError(new ApiError(429, 'http_429', 'Request failed (429)'))).toBe(
      "You're doing that too often — try again in a moment.",
    );
    expect(
      describeError(ackError({ code: 'rate_limited', message: 'Too many events; slow down and retry' })),
    ).toBe("You're doing that too often — try again in a moment.");
  });

  it('rounds long waits to minutes', () => {
    expect(formatWait(0.2)).toBe('1 s');
    expect(formatWait(59.1)).toBe('60 s');
    expect(formatWait(600)).toBe('10 min');
    expect(describeError(new ApiError(429, 'rate_limited', 'x', 900))).toContain('try again in 15 min');
  });

  it('explains a `blocked` refusal for what the person was doing, never as a generic failure', () => {
    const err = new ApiError(403, 'blocked', 'Forbidden');
    expect(describeError(err, 'send')).toBe("This person isn't accepting messages from you.");
    expect(describeError(err, 'direct')).toBe("This person isn't accepting messages from you.");
    expect(describeError(err, 'add')).toMatch(/isn't accepting invitations from you, so you can't add them/);
    expect(describeError(err, 'group')).toMatch(/Someone you picked isn't accepting invitations/);
    expect(describeError(err)).not.toBe('Forbidden');
    // The same refusal through a socket ack.
    expect(describeError(ackError({ code: 'blocked', message: 'Blocked' }), 'send')).toBe(
      "This person isn't accepting messages from you.",
    );
  });

  it("keeps the server's message for other refusals, and says something for non-errors", () => {
    expect(describeError(new ApiError(400, 'validation_error', 'text must not be blank'))).toBe(
      'text must not be blank',
    );
    expect(describeError(new ApiError(503, 'busy', 'Busy', 3))).toBe(
      'The server is busy — try again in 3 s.',
    );
    expect(describeError('nope')).toBe('Something went wrong.');
  });
});

describe('ackError', () => {
  it('gives each ack code the status it has over REST, so both are judged alike', () => {
    expect(ackError({ code: 'rate_limited', message: 'm' }).status).toBe(429);
    expect(ackError({ code: 'blocked', message: 'm' }).status).toBe(403);
    expect(ackError({ code: 'chat_not_found', message: 'm' }).status).toBe(404);
    expect(ackError({ code: 'upstream_timeout', message: 'm' }).status).toBe(504);
    expect(ackError({ code: 'upstream_unavailable', message: 'm' }).status).toBe(502);
    expect(ackError({ code: 'something_new', message: 'm' }).status).toBe(400);
  });

  it('keeps a numeric retryAfter when the server adds one, and ignores anything else', () => {
    const withWait = { code: 'rate_limited', message: 'm', retryAfter: 4 };
    expect(ackError(withWait).retryAfterSeconds).toBe(4);
    const junk = { code: 'rate_limited', message: 'm', retryAfter: '4' };
    expect(ackError(junk).retryAfterSeconds).toBeUndefined();
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and nothing else', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('12', now)).toBe(12);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBeUndefined();
    expect(parseRetryAfter('0', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
