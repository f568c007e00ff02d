/** The public contract's shapes (DESIGN.md §2 and §4), imported as types only: nothing of libs/common ships to the browser. */
import type { ClientToServerEvents, ServerToClientEvents } from '@cohort/common';

export type { Ack, Chat, ChatMember, ChatSummary, Message, PublicUser } from '@cohort/common';

/** What `GET /api/users?ids=` and `GET /api/users/search` return for each person. */
export interface UserInfo {
  id: string;
  email: string;
  fullName: { firstName: string; lastName: string };
}

/** Socket events, the realtime service's additions (`presence:get`, `auth:expired`) included. */
export type ClientEvents = ClientToServerEvents;
export type ServerEvents = ServerToClientEvents;
