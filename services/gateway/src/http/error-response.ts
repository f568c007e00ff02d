import type { ServerResponse } from 'node:http';
import type { ErrorBody } from '@cohort/common';

/**
 * Writes the contract's error shape on a raw response. Used where Express's error middleware is no
 * longer in the path: proxy callbacks and timers that fire after the middleware chain has handed off.
 */
export function writeError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const body: ErrorBody = { error: { code, message } };
  const json = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.setHeader('Cache-Control', 'no-store');
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.end(json);
}
