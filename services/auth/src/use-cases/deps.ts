import type { EventBus, Logger, TokenDenylist } from '@cohort/common';
import type { UserRepository } from '../data/user.repository';
import type { SessionRepository } from '../data/session.repository';
import type { PasswordHasher } from '../passwords/password-hasher';
import type { FairQueue } from '../passwords/fair-queue';
import type { SharedChats } from '../clients/chat-api.client';
import type { AccessTokenIssuer } from '../tokens/access-token-issuer';
import type { LoginLimiter } from '../limits/login-limiter';

/** What the use cases work with; built once by the composition root (main.ts) or a test. */
export interface AuthContext {
  users: UserRepository;
  sessions: SessionRepository;
  passwords: PasswordHasher;
  /** Every hash and comparison waits its turn here, so no client or account takes the pool from the others. */
  hashing: FairQueue;
  /** Which users share a chat with the caller (chat-api): whose email a search may show. */
  sharedChats: SharedChats;
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
