import { AppError, type LoginBody, type PublicUser } from '@cohort/common';
import { NO_PASSWORD } from '../data/user.repository';
import type { AuthContext } from './deps';
import { startSession, type SessionTokens } from './session-tokens';

export interface LoggedIn {
  user: PublicUser;
  session: SessionTokens;
}

/** bcrypt reads only the first 72 bytes; registration refuses longer passwords, so none is ever stored. */
const BCRYPT_MAX_BYTES = 72;

function invalidCredentials(): AppError {
  return AppError.unauthorized('Invalid email or password', 'invalid_credentials');
}

/**
 * Checks a password and opens a session. Every bad credential is the same 401, and an unknown email
 * still spends one bcrypt comparison, so neither the answer nor its timing tells whether an account exists.
 */
export async function login(ctx: AuthContext, body: LoginBody, ip: string): Promise<LoggedIn> {
  await ctx.limiter.reserveAttempt(body.email, ip);
  // bcrypt would compare only the first 72 bytes, so "<the password><anything>" would log in. No stored
  // password is that long: refuse before the lookup and the hash, which makes the answer and its timing
  // the same whether the account exists or not (and spends no hashing on it).
  if (Buffer.byteLength(body.password, 'utf8') > BCRYPT_MAX_BYTES) throw invalidCredentials();
  const found = await ctx.users.findCredentialsByEmail(body.email);
  // A passwordless account (the assistant) is no account to log in to: the same dummy comparison, the same 401.
  const credentials = found && found.passwordHash !== NO_PASSWORD ? found : null;
  const hash = credentials?.passwordHash ?? (await ctx.dummyHash);
  const matches = await ctx.hashing.run({ address: ip, account: body.email }, () =>
    ctx.passwords.compare(body.password, hash),
  );
  if (!credentials || !matches) throw invalidCredentials();
  await ctx.limiter.reset(body.email, ip);
  return { user: credentials.user, session: await startSession(ctx, credentials.user.id) };
}
