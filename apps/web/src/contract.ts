/** The public contract's shapes (DESIGN.md §2 and §4), imported as types only: nothing of libs/common ships to the browser. */
import type { Ack, ClientToServerEvents, ServerToClientEvents } from '@cohort/common';

export type { Ack, Chat, ChatMember, ChatSummary, Message, PublicUser } from '@cohort/common';

/** What `GET /api/users?ids=` and `GET /api/users/search` return for each person. */
export interface UserInfo {
  id: string;
  email: string;
  fullName: { firstName: string; lastName: string };
}

/*
 * Events the realtime service adds beyond libs/common's contract (services/realtime/src/socket-types.ts),
 * declared here until they move into libs/common.
 */
export interface ClientEvents extends ClientToServerEvents {
  /** Who among a chat's members is online right now (`presence` events only carry changes). */
  'presence:get': (payload: { chatId: string }, ack: (res: Ack<{ online: string[] }>) => void) => void;
}

export interface ServerEvents extends ServerToClientEvents {
  /** Sent just before the server closes a socket whose access token expired. */
  'auth:expired': (payload: { reason: 'expired' }) => void;
}
