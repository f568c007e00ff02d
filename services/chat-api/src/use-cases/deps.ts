import type { Logger } from '@cohort/common';
import type { ChatRepository } from '../data/chat.repository';
import type { MembershipRepository } from '../data/membership.repository';
import type { MessageRepository } from '../data/message.repository';
import type { ChatEventPublisher } from '../lib/chat-events';
import type { MembershipCache } from '../lib/membership-cache';
import type { MessageSequencer } from '../lib/message-sequencer';
import type { SendLimiter } from '../lib/send-limiter';
import type { UserDirectory } from '../lib/user-directory';

export interface Repositories {
  chats: ChatRepository;
  memberships: MembershipRepository;
  messages: MessageRepository;
}

/** What the use cases work with; built once in app.ts from the composition root's pieces. */
export interface UseCaseDeps {
  repos: Repositories;
  users: UserDirectory;
  events: ChatEventPublisher;
  sequencer: MessageSequencer;
  sendLimiter: SendLimiter;
  /** Recently confirmed senders (the send path only). */
  recentMembers: MembershipCache;
  logger: Logger;
  now: () => Date;
}
