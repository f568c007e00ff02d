import type { EventBus, Logger, TokenDenylist } from '@cohort/common';
import type { UserRepository } from '../data/user.repository';
import type { SessionRepository } from '../data/session.repository';
import type { PasswordHasher } from '../passwords/password-hasher';
import type { AccessTokenIssuer } from '../tokens/access-token-issuer';
import type { LoginLimiter } from '../limits/login-limiter';

/** What the use cases work with; built once by the composition root (main.ts) or a test. */
export interface AuthContext {
  users: UserRepository;
  sessions: SessionRepository;
  passwords: PasswordHasher;
  tokens: AccessTokenIssuer;
  limiter: LoginLimiter;
  denylist: TokenDenylist;
  bus: EventBus;
  logger: Logger;
  refreshTtlSeconds: number;
  refreshReuseGraceSeconds: number;
  /** A bcrypt hash of a random secret at the configured cost: unknown emails are compared against it. */
  dummyHash: Promise<string>;
}
