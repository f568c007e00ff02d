/** The public contract's shapes (docs/http-api.md and docs/socket-events.md), imported as types only: nothing of libs/common ships to the browser. */
import type { ClientToServerEvents, ServerToClientEvents } from '@cohort/common';

export type {
  Ack,
  AiDelta,
  AssistantInfo,
  ChatSummaryText,
  MessageAi,
  ReactionSummary,
  SearchResult,
  BlockedUser,
  Chat,
  ChatMember,
  ChatPage,
  ChatSummary,
  Message,
  PublicUser,
} from '@cohort/common';

/**
 * What `GET /api/users?ids=` and `GET /api/users/search` return for each person. `email` only where the caller
 * may see it (people sharing a chat with them, an exact-email search, themselves): never rely on it for a name.
 */
export interface UserInfo {
  id: string;
  email?: string;
  fullName: { firstName: string; lastName: string };
}

/** Socket events, the realtime service's additions (`presence:get`, `auth:expired`) included. */
export type ClientEvents = ClientToServerEvents;
export type ServerEvents = ServerToClientEvents;

/**
 * The assistant's user id, the same in every deployment (libs/common `ASSISTANT_USER_ID`, copied because nothing
 * of libs/common ships to the browser; contract.test.ts checks the two agree).
 */
export const ASSISTANT_USER_ID = '0000000000000000000c0de1';
