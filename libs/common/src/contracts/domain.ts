/** Shapes the public API returns (docs/http-api.md). Dates travel as ISO strings. */
export interface FullName {
  firstName: string;
  lastName: string;
}

export interface PublicUser {
  id: string;
  email: string;
  fullName: FullName;
  createdAt: string;
}

export type ChatType = 'group' | 'direct';
export type MemberRole = 'owner' | 'member';

export interface ChatMember {
  userId: string;
  role: MemberRole;
  joinedAt: string;
  lastReadSeq: number;
}

/** One emoji's reactions on a message: `userIds` are the first 10 who reacted, `count` all of them. */
export interface ReactionSummary {
  emoji: string;
  count: number;
  userIds: string[];
}

export interface Message {
  id: string;
  chatId: string;
  seq: number;
  senderId: string;
  text: string;
  clientMsgId: string;
  createdAt: string;
  editedAt?: string;
  deletedAt?: string;
  /** 1 when stored, +1 on each edit and on the delete (docs/security.md): a client keeps the highest it has seen. */
  version: number;
  /** The message this one replies to (same chat). */
  replyTo?: string;
  /** Users mentioned (members of the chat); absent when none. */
  mentions?: string[];
  /** Reactions by emoji, in the order each emoji was first used; absent when none. */
  reactions?: ReactionSummary[];
  /** +1 on each reaction change (absent before the first): a client keeps the summary with the highest. */
  reactionsVersion?: number;
}

export interface Chat {
  id: string;
  type: ChatType;
  title: string;
  ownerId: string;
  members?: ChatMember[];
  lastSeq: number;
  createdAt: string;
  lastMessageAt: string | null;
}

/** An entry of `GET /api/chats`. */
export interface ChatSummary extends Chat {
  lastMessage: Message | null;
  unread: number;
  /** Messages after my read marker that mention me (not deleted). */
  mentionsUnread: number;
}

/** `GET /api/chats`: one page, newest activity first; `nextCursor` is null on the last page. */
export interface ChatPage {
  chats: ChatSummary[];
  nextCursor: string | null;
}

/** An entry of `GET /api/users/blocked` (names come from auth's `GET /api/users?ids=`). */
export interface BlockedUser {
  id: string;
  blockedAt: string;
}
