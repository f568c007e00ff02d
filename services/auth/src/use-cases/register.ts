import { AppError, type PublicUser, type RegisterBody } from '@cohort/common';
import type { AuthContext } from './deps';
import { startSession, type SessionTokens } from './session-tokens';
import { isCommonPassword } from '../passwords/common-passwords';

export interface Registered {
  user: PublicUser;
  session: SessionTokens;
}

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 11000;
}

/** Creates an account (email unique, password not a common one) and signs it in. */
export async function register(ctx: AuthContext, body: RegisterBody, ip: string): Promise<Registered> {
  if (isCommonPassword(body.password)) {
    throw AppError.badRequest('This password is too common; choose another one', 'weak_password');
  }
  const passwordHash = await ctx.hashing.run({ address: ip }, () => ctx.passwords.hash(body.password));
  let user: PublicUser;
  try {
    user = await ctx.users.create({ email: body.email, passwordHash, fullName: body.fullName }, new Date());
  } catch (err) {
    // The unique index decides, so two concurrent registrations cannot both succeed.
    if (isDuplicateKey(err))
      throw AppError.conflict('An account with this email already exists', 'email_taken');
    throw err;
  }
  return { user, session: await startSession(ctx, user.id) };
}
