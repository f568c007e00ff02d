import type { Chat, Message, ReactionSummary } from './domain';
import type { AiDelta } from './socket-events';

/**
 * Events services publish for each other (Redis pub/sub in the cluster, an in-process bus when embedded).
 * chat-api publishes after each committed write; auth publishes session revocations.
 */
export type ChatEvent =
  | { type: 'chat:new'; chatId: string; message: Message }
  | { type: 'chat:updated'; chatId: string; message: Message }
  | { type: 'chat:deleted'; chatId: string; message: Message }
  | { type: 'chat:read'; chatId: string; userId: string; seq: number }
  | { type: 'chat:added'; chatId: string; userIds: string[]; chat: Chat }
  | { type: 'chat:removed'; chatId: string; userIds: string[] }
  | { type: 'chat:changed'; chatId: string; chat: Chat }
  | {
      type: 'chat:reactions';
      chatId: string;
      messageId: string;
      reactions: ReactionSummary[];
      reactionsVersion: number;
    }
  /**
   * Two users entered (`blocked: true`) or left a block relation, whichever of them blocked the other: realtime
   * stops or resumes relaying typing and presence between them. `userIds` holds exactly the two; not about
   * one chat, hence no `chatId`.
   */
  | { type: 'users:block'; userIds: string[]; blocked: boolean };

export type SessionEvent = { type: 'session:revoked'; sessionId: string; userId: string };

/** The assistant streams an answer: realtime relays each delta to the chat's room (→ socket `ai:delta`). */
export type AiEvent = { type: 'ai:delta' } & AiDelta;

/** A member asked to stop an answer (socket `ai:stop`): the replica generating it cancels the provider call. */
export type AiControlEvent = { type: 'ai:stop'; chatId: string; streamId: string; userId: string };

export interface BusChannels {
  'chat-events': ChatEvent;
  'session-events': SessionEvent;
  'ai-events': AiEvent;
  'ai-control': AiControlEvent;
}
