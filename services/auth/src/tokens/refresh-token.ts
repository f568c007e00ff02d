import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes, base64url: what the refresh cookie carries. */
export function generateRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Only this hash is stored, so a database leak does not hand out live sessions. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** Whether a presented cookie value could be one of ours (anything else is refused before a lookup). */
export function isWellFormedRefreshToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(token);
}
