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

/** `assistant`: a personal chat between one user and the assistant (DESIGN §7), made by `POST /api/chats {type:"assistant"}`. */
export type ChatType = 'group' | 'direct' | 'assistant';
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

/** How an assistant answer ended (DESIGN §7). */
export type AiStatus = 'done' | 'stopped' | 'failed';
/** Why an assistant answer failed. */
export type AiErrorCode =
  'ai_not_configured' | 'ai_provider_unavailable' | 'ai_budget_exceeded' | 'ai_timeout' | 'ai_interrupted';

export interface AiUsage {
  promptTokens: number;
  completionTokens: number;
}

/** On a message the assistant stored: the stream it was generated as and how it ended. */
export interface MessageAi {
  streamId: string;
  status: AiStatus;
  model: string;
  usage?: AiUsage;
  error?: { code: AiErrorCode; message: string };
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
  /** Present on the assistant's answers only. */
  ai?: MessageAi;
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

/** `GET /api/assistant`: the assistant as a user (a member like any other) and whether a model answers. */
export interface AssistantInfo {
  id: string;
  fullName: FullName;
  enabled: boolean;
  /** The configured model; null when none. */
  model: string | null;
}

/** `POST /api/chats/:chatId/summary`: "catch me up" over the messages after my read marker. */
export interface ChatSummaryText {
  summary: string;
  /** The first and last seq summarised (both 0 when there was nothing unread). */
  fromSeq: number;
  toSeq: number;
}

/** An entry of `GET /api/search/messages`. */
export interface SearchResult {
  message: Message;
  chatId: string;
  /** MongoDB's text score: higher is a better match. */
  score: number;
}
