/** Shapes the public API returns (DESIGN.md §2). Dates travel as ISO strings. */
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
}
