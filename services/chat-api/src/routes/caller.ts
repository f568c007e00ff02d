import type { Request } from 'express';
import { IDENTITY_HEADER, identityOf } from '@cohort/common';
import type { Caller } from '../domain/caller';

/** The verified caller of a request that went through `requireIdentity`. */
export function callerOf(req: Request): Caller {
  const { userId } = identityOf(req);
  const assertion = req.headers[IDENTITY_HEADER];
  return { userId, assertion: typeof assertion === 'string' ? assertion : '', requestId: String(req.id) };
}
