import type { Logger, MembershipDirectory } from '@cohort/common';
import type { Repositories } from '../data/repositories';
import type { ChatEventPublisher } from '../events/chat-event-publisher';
import type { AssistantTriggers } from '../events/assistant-triggers';
import type { ChatTypeCache } from '../domain/chat-type-cache';
import type { MembershipCache } from '../domain/membership-cache';
import type { MessageSequencer } from '../domain/message-sequencer';
import type { SendLimiter } from '../limits/send-limiter';
import type { UserDirectory } from '../clients/auth-users.client';
import type { ActionLimiter } from './action-limiter';

export type { Repositories };

/** docs/security.md's per-user abuse limits. */
export interface ActionLimits {
  chatCreation: ActionLimiter;
  /** One point per user added to a group (also the members a group is created with). */
  memberAdditions: ActionLimiter;
  messageEdits: ActionLimiter;
  searches: ActionLimiter;
}

/** What the use cases work with; built once in app.ts from the composition root's pieces. */
export interface UseCaseDeps {
  repos: Repositories;
  users: UserDirectory;
  events: ChatEventPublisher;
  /** Messages the assistant may answer (every message of an assistant chat, group messages calling it). */
  triggers: AssistantTriggers;
  chatTypes: ChatTypeCache;
  sequencer: MessageSequencer;
  sendLimiter: SendLimiter;
  limits: ActionLimits;
  /** Recently confirmed senders (the send path only). */
  recentMembers: MembershipCache;
  /** Filled with each memberships lookup's answer, for realtime's handshakes (cluster only). */
  directory?: Pick<MembershipDirectory, 'versions' | 'fill'>;
  logger: Logger;
  now: () => Date;
}
