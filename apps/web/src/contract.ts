/** The public contract's shapes (DESIGN.md §2 and §4), imported as types only: nothing of libs/common ships to the browser. */
export type {
  Ack,
  Chat,
  ChatMember,
  ChatSummary,
  ClientToServerEvents,
  Message,
  PublicUser,
  ServerToClientEvents,
} from '@cohort/common';

/** What `GET /api/users?ids=` and `GET /api/users/search` return for each person. */
export interface UserInfo {
  id: string;
  email: string;
  fullName: { firstName: string; lastName: string };
}
