import { AppError, type LoginBody, type PublicUser } from '@cohort/common';
import type { AuthContext } from './deps';
import { startSession, type SessionTokens } from './session-tokens';

export interface LoggedIn {
  user: PublicUser;
  session: SessionTokens;
}

/**
 * Checks a password and opens a session. Every bad credential is the same 401, and an unknown email
 * still spends one bcrypt comparison, so neither the answer nor its timing tells whether an account exists.
 */
export async function login(ctx: AuthContext, body: LoginBody, ip: string): Promise<LoggedIn> {
  await ctx.limiter.reserveAttempt(body.email, ip);
  const credentials = await ctx.users.findCredentialsByEmail(body.email);
  const hash = credentials?.passwordHash ?? (await ctx.dummyHash);
  const matches = await ctx.passwords.compare(body.password, hash);
  if (!credentials || !matches) {
    throw AppError.unauthorized('Invalid email or password', 'invalid_credentials');
  }
  await ctx.limiter.reset(body.email, ip);
  return { user: credentials.user, session: await startSession(ctx, credentials.user.id) };
}
