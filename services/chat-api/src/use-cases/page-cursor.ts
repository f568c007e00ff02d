import { AppError } from '@cohort/common';
import type { ActivityPosition } from '../data/membership.repository';

const invalidCursor = () =>
  AppError.badRequest('cursor must be a nextCursor from a previous page', 'invalid_cursor');

/**
 * GET /api/chats's `nextCursor`: where the next page resumes, (activity time, chatId), as base64url. Opaque to
 * clients; decoded strictly, so a forged one is a 400 and never reaches a query as anything but a date and an id.
 */
export function encodeActivityCursor(position: ActivityPosition): string {
  return Buffer.from(`${position.at.getTime()}:${position.chatId}`, 'utf8').toString('base64url');
}

export function decodeActivityCursor(cursor: string): ActivityPosition {
  const match = /^(\d{1,15}):([0-9a-f]{24})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw invalidCursor();
  const at = new Date(Number(match[1]));
  if (Number.isNaN(at.getTime())) throw invalidCursor();
  return { at, chatId: match[2]! };
}

/** GET /api/users/blocked's `nextCursor`: the last listed user id. */
export function decodeIdCursor(cursor: string): string {
  if (!/^[0-9a-f]{24}$/.test(cursor)) throw invalidCursor();
  return cursor;
}
