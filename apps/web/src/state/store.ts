import type {
  AssistantInfo,
  BlockedUser,
  Chat,
  ChatSummary,
  Message,
  ReactionSummary,
  UserInfo,
} from '../contract';
import { addDeltas, newStream, type AiStream, type DeltaInput } from './ai-streams';
import {
  applyReactions,
  addPending,
  applyChange,
  mergeMessages,
  oldestSeq,
  removeLocal,
  setLocalStatus,
  type UiMessage,
} from './messages';

/** Everything the client knows, kept by one pure reducer so that socket events, REST replies and acks
 *  can arrive in any order and any number of times without showing anything twice. */
export interface Thread {
  items: readonly UiMessage[];
  /** The newest page has been fetched: the list is contiguous from its oldest item to the newest message. */
  loaded: boolean;
  loadingOlder: boolean;
  /** seq 1 is in the list (or the chat is empty): nothing older to fetch. */
  reachedStart: boolean;
}

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected';

export interface ChatState {
  meId: string;
  /** The chats held: the pages of `GET /api/chats` loaded so far, plus any that events brought. */
  chats: Readonly<Record<string, ChatSummary>>;
  /** The first page has arrived. */
  chatsLoaded: boolean;
  /** Where the next page of the list starts (`nextCursor`); null when every page is held. */
  chatsCursor: string | null;
  /** More than the first page is held: a reload of the first page keeps the deeper cursor. */
  chatsDeep: boolean;
  chatsLoadingMore: boolean;
  threads: Readonly<Record<string, Thread>>;
  users: Readonly<Record<string, UserInfo>>;
  online: Readonly<Record<string, boolean>>;
  /** chatId → userId → time (ms) until which that user counts as typing. */
  typing: Readonly<Record<string, Readonly<Record<string, number>>>>;
  activeChatId: string | null;
  connection: ConnectionStatus;
  /** Why the last connection attempt was refused, when the server said (`too_many_connections`). */
  connectionReason: string | null;
  /** The people I blocked: userId → when. */
  blocked: Readonly<Record<string, string>>;
  blockedLoaded: boolean;
  blockedCursor: string | null;
  /** Assistant answers streaming now, by streamId. */
  streams: Readonly<Record<string, AiStream>>;
  /** Streams whose stored answer has arrived: late deltas of these are ignored. */
  answeredStreams: Readonly<Record<string, true>>;
  /** `GET /api/assistant`, once loaded. */
  assistant: AssistantInfo | null;
  /** The message to scroll to and highlight (a reply's original, a search result); `nonce` repeats a jump. */
  focus: { chatId: string; messageId: string; nonce: number } | null;
}

export type Action =
  | { type: 'chats/loaded'; chats: ChatSummary[]; nextCursor: string | null }
  | { type: 'chats/page'; chats: ChatSummary[]; nextCursor: string | null }
  | { type: 'chats/loading-more'; loading: boolean }
  | { type: 'chat/upsert'; chat: Chat }
  | { type: 'chat/removed'; chatId: string }
  | { type: 'messages/received'; chatId: string; messages: Message[]; viewing: boolean }
  | { type: 'thread/loaded'; chatId: string; messages: Message[]; mode: 'latest' | 'older'; limit: number }
  | { type: 'thread/loading-older'; chatId: string; loading: boolean }
  | { type: 'message/pending'; message: UiMessage }
  | {
      type: 'message/local-status';
      chatId: string;
      clientMsgId: string;
      status: 'pending' | 'failed';
      error?: string;
    }
  | { type: 'message/discard'; chatId: string; clientMsgId: string }
  | { type: 'message/changed'; message: Message }
  | { type: 'read'; chatId: string; userId: string; seq: number }
  | { type: 'typing'; chatId: string; userId: string; until: number }
  | { type: 'typing/expire'; now: number }
  | { type: 'presence'; userId: string; online: boolean }
  | { type: 'users/loaded'; users: UserInfo[] }
  | { type: 'active'; chatId: string | null }
  | { type: 'seen'; chatId: string }
  | { type: 'connection'; status: ConnectionStatus; reason?: string | null }
  | { type: 'blocked/loaded'; users: BlockedUser[]; nextCursor: string | null; first: boolean }
  | { type: 'blocked/changed'; userId: string; blockedAt: string | null }
  | {
      type: 'message/reactions';
      chatId: string;
      messageId: string;
      reactions: ReactionSummary[];
      reactionsVersion: number;
    }
  | {
      type: 'ai/deltas';
      chatId: string;
      streamId: string;
      replyTo: string | null;
      deltas: readonly DeltaInput[];
      ended?: boolean;
    }
  | { type: 'ai/stopping'; streamId: string; stopping: boolean }
  | { type: 'ai/drop'; streamId: string }
  | { type: 'assistant/loaded'; assistant: AssistantInfo }
  | { type: 'focus'; chatId: string; messageId: string }
  | { type: 'focus/clear' };

export function initialState(meId: string): ChatState {
  return {
    meId,
    chats: {},
    chatsLoaded: false,
    chatsCursor: null,
    chatsDeep: false,
    chatsLoadingMore: false,
    threads: {},
    users: {},
    online: {},
    typing: {},
    activeChatId: null,
    connection: 'connecting',
    connectionReason: null,
    blocked: {},
    blockedLoaded: false,
    blockedCursor: null,
    streams: {},
    answeredStreams: {},
    assistant: null,
    focus: null,
  };
}

const emptyThread: Thread = { items: [], loaded: false, loadingOlder: false, reachedStart: false };

function activityOf(chat: Chat): string {
  return chat.lastMessageAt ?? chat.createdAt;
}

/** Newest activity first; ties broken by id so the order is stable. */
export function sortedChats(chats: Readonly<Record<string, ChatSummary>>): ChatSummary[] {
  return Object.values(chats).sort((a, b) => {
    const d = activityOf(b).localeCompare(activityOf(a));
    return d !== 0 ? d : b.id.localeCompare(a.id);
  });
}

/**
 * Of two copies of the same stored message, the one to keep: the higher version (docs/security.md: events carry
 * versions, so a late `chat:updated` never wins over a later edit); without them, or at the same one, the incoming.
 */
export function laterCopy(current: Message, incoming: Message): Message {
  if (current.id !== incoming.id) return incoming;
  if (
    current.version !== undefined &&
    incoming.version !== undefined &&
    current.version !== incoming.version
  ) {
    return incoming.version > current.version ? incoming : current;
  }
  return incoming;
}

/** A server summary replaces ours unless ours has already seen later messages (events can overtake a list reply). */
function mergeSummary(local: ChatSummary | undefined, server: ChatSummary): ChatSummary {
  if (!local) return server;
  const members = server.members ?? local.members;
  const lastMessage =
    local.lastMessage && server.lastMessage
      ? laterCopy(local.lastMessage, server.lastMessage)
      : server.lastMessage;
  const base = { ...server, lastMessage, ...(members ? { members } : {}) };
  if (local.lastSeq > server.lastSeq) {
    return {
      ...base,
      lastSeq: local.lastSeq,
      lastMessage: local.lastMessage,
      lastMessageAt: local.lastMessageAt,
      unread: local.unread,
    };
  }
  return base;
}

function bumpSummary(
  state: ChatState,
  chat: ChatSummary,
  messages: readonly Message[],
  viewing: boolean,
): ChatSummary {
  let next = chat;
  const fresh = messages.filter((m) => m.seq > chat.lastSeq);
  if (fresh.length > 0) {
    const newest = fresh.reduce((a, b) => (b.seq > a.seq ? b : a));
    const unseen = fresh.filter((m) => m.senderId !== state.meId && !m.deletedAt);
    const mentioningMe = unseen.filter((m) => m.mentions?.includes(state.meId)).length;
    next = {
      ...chat,
      lastSeq: newest.seq,
      lastMessage: newest,
      lastMessageAt: newest.createdAt,
      unread: viewing ? 0 : chat.unread + unseen.length,
      mentionsUnread: viewing ? 0 : (chat.mentionsUnread ?? 0) + mentioningMe,
    };
  }
  // An edit or delete of the message the chat list previews.
  const last = next.lastMessage;
  const changed = last ? messages.find((m) => m.id === last.id) : undefined;
  if (
    last &&
    changed &&
    laterCopy(last, changed) === changed &&
    (changed.text !== last.text || changed.editedAt !== last.editedAt || changed.deletedAt !== last.deletedAt)
  ) {
    next = { ...next, lastMessage: changed };
  }
  return next;
}

/** Sending moves the sender's read marker to the message sent (chat-api), so a message is also a read receipt. */
function advanceSenderMarkers(chat: ChatSummary, messages: readonly Message[]): ChatSummary {
  if (!chat.members) return chat;
  const top = new Map<string, number>();
  for (const m of messages) top.set(m.senderId, Math.max(top.get(m.senderId) ?? 0, m.seq));
  if (!chat.members.some((m) => (top.get(m.userId) ?? 0) > m.lastReadSeq)) return chat;
  return {
    ...chat,
    members: chat.members.map((m) => {
      const seq = top.get(m.userId) ?? 0;
      return seq > m.lastReadSeq ? { ...m, lastReadSeq: seq } : m;
    }),
  };
}

function withThread(state: ChatState, chatId: string, update: (t: Thread) => Thread): ChatState {
  const current = state.threads[chatId] ?? emptyThread;
  const next = update(current);
  if (next === current) return state;
  return { ...state, threads: { ...state.threads, [chatId]: next } };
}

function withItems(
  state: ChatState,
  chatId: string,
  update: (items: readonly UiMessage[]) => readonly UiMessage[],
): ChatState {
  return withThread(state, chatId, (t) => {
    const items = update(t.items);
    return items === t.items ? t : { ...t, items };
  });
}

function clearTyping(state: ChatState, chatId: string, userIds: readonly string[]): ChatState {
  const current = state.typing[chatId];
  if (!current || !userIds.some((id) => id in current)) return state;
  const next = { ...current };
  for (const id of userIds) delete next[id];
  return { ...state, typing: { ...state.typing, [chatId]: next } };
}

function dropKey<T>(record: Readonly<Record<string, T>>, key: string): Readonly<Record<string, T>> {
  if (!(key in record)) return record;
  const { [key]: _dropped, ...rest } = record;
  return rest;
}

/** Stored assistant answers end their streams: the bubble is replaced by the message, late deltas are ignored. */
function settleStreams(state: ChatState, messages: readonly Message[]): ChatState {
  const answered = messages.filter((m) => m.ai?.streamId && !state.answeredStreams[m.ai.streamId]);
  if (answered.length === 0) return state;
  let streams = state.streams;
  const answeredStreams: Record<string, true> = { ...state.answeredStreams };
  for (const m of answered) {
    const id = m.ai!.streamId;
    answeredStreams[id] = true;
    streams = dropKey(streams, id);
  }
  return { ...state, streams, answeredStreams };
}

export function reducer(state: ChatState, action: Action): ChatState {
  switch (action.type) {
    case 'chats/loaded': {
      const chats: Record<string, ChatSummary> = {};
      for (const c of action.chats) chats[c.id] = mergeSummary(state.chats[c.id], c);
      // Chats held but not on this first page: gone (left, or removed while away) when they would have been
      // on it, i.e. the page is the whole list or they are newer than its oldest entry; kept otherwise
      // (later pages, and chats events brought).
      const complete = action.nextCursor === null;
      const oldest = action.chats.reduce<string | null>((min, c) => {
        const at = activityOf(c);
        return min === null || at < min ? at : min;
      }, null);
      for (const [id, local] of Object.entries(state.chats)) {
        if (id in chats) continue;
        const wouldBeOnPage = complete || (oldest !== null && activityOf(local) > oldest);
        if (!wouldBeOnPage) chats[id] = local;
      }
      // Activity only moves a chat up, so a deeper cursor still marks where the unseen chats begin.
      const deep = state.chatsDeep && !complete;
      return {
        ...state,
        chats,
        chatsLoaded: true,
        chatsCursor: deep ? state.chatsCursor : action.nextCursor,
        chatsDeep: deep,
      };
    }
    case 'chats/page': {
      const chats = { ...state.chats };
      for (const c of action.chats) chats[c.id] = mergeSummary(state.chats[c.id], c);
      return {
        ...state,
        chats,
        chatsCursor: action.nextCursor,
        chatsDeep: true,
        chatsLoadingMore: false,
      };
    }
    case 'chats/loading-more':
      return state.chatsLoadingMore === action.loading
        ? state
        : { ...state, chatsLoadingMore: action.loading };
    case 'chat/upsert': {
      const local = state.chats[action.chat.id];
      const members = action.chat.members ?? local?.members;
      const chat: ChatSummary = {
        ...(local ?? { lastMessage: null, unread: 0, mentionsUnread: 0 }),
        ...action.chat,
        ...(members ? { members } : {}),
        lastSeq: Math.max(local?.lastSeq ?? 0, action.chat.lastSeq),
        lastMessageAt:
          local && local.lastSeq > action.chat.lastSeq ? local.lastMessageAt : action.chat.lastMessageAt,
      };
      return { ...state, chats: { ...state.chats, [chat.id]: chat } };
    }
    case 'chat/removed': {
      if (!(action.chatId in state.chats)) return state;
      return {
        ...state,
        chats: dropKey(state.chats, action.chatId),
        threads: dropKey(state.threads, action.chatId),
        typing: dropKey(state.typing, action.chatId),
        activeChatId: state.activeChatId === action.chatId ? null : state.activeChatId,
      };
    }
    case 'messages/received': {
      if (action.messages.length === 0) return state;
      let next = state;
      const chat = state.chats[action.chatId];
      if (chat) {
        const bumped = advanceSenderMarkers(
          bumpSummary(state, chat, action.messages, action.viewing),
          action.messages,
        );
        if (bumped !== chat) next = { ...next, chats: { ...next.chats, [chat.id]: bumped } };
      }
      // A chat never opened keeps no messages: opening it fetches the newest page, which covers these.
      if (next.threads[action.chatId])
        next = withItems(next, action.chatId, (items) => mergeMessages(items, action.messages));
      next = settleStreams(next, action.messages);
      return clearTyping(
        next,
        action.chatId,
        action.messages.map((m) => m.senderId),
      );
    }
    case 'thread/loaded': {
      let next = withThread(state, action.chatId, (t) => {
        const items = mergeMessages(t.items, action.messages);
        const oldest = oldestSeq(items);
        const reachedStart =
          (action.mode === 'older' || !t.loaded ? action.messages.length < action.limit : t.reachedStart) ||
          oldest === null ||
          oldest <= 1;
        return {
          items,
          loaded: true,
          loadingOlder: action.mode === 'older' ? false : t.loadingOlder,
          reachedStart,
        };
      });
      const chat = next.chats[action.chatId];
      if (chat && action.mode === 'latest') {
        const viewing = state.activeChatId === action.chatId;
        const bumped = bumpSummary(next, chat, action.messages, viewing);
        if (bumped !== chat) next = { ...next, chats: { ...next.chats, [chat.id]: bumped } };
      }
      return settleStreams(next, action.messages);
    }
    case 'thread/loading-older':
      return withThread(state, action.chatId, (t) =>
        t.loadingOlder === action.loading ? t : { ...t, loadingOlder: action.loading },
      );
    case 'message/pending':
      return withThread(state, action.message.chatId, (t) => {
        const items = addPending(t.items, action.message);
        return items === t.items ? t : { ...t, items };
      });
    case 'message/local-status':
      return withItems(state, action.chatId, (items) =>
        setLocalStatus(items, action.clientMsgId, action.status, action.error),
      );
    case 'message/discard':
      return withItems(state, action.chatId, (items) => removeLocal(items, action.clientMsgId));
    case 'message/changed': {
      const m = action.message;
      let next = withItems(state, m.chatId, (items) => applyChange(items, m));
      const chat = next.chats[m.chatId];
      if (chat?.lastMessage && chat.lastMessage.id === m.id && laterCopy(chat.lastMessage, m) === m) {
        next = { ...next, chats: { ...next.chats, [chat.id]: { ...chat, lastMessage: m } } };
      }
      return next;
    }
    case 'read': {
      const chat = state.chats[action.chatId];
      if (!chat) return state;
      let updated = chat;
      if (chat.members?.some((m) => m.userId === action.userId && m.lastReadSeq < action.seq)) {
        updated = {
          ...updated,
          members: chat.members.map((m) =>
            m.userId === action.userId && m.lastReadSeq < action.seq ? { ...m, lastReadSeq: action.seq } : m,
          ),
        };
      }
      // Read on another of my devices: the badge goes away here too.
      if (
        action.userId === state.meId &&
        action.seq >= chat.lastSeq &&
        (chat.unread !== 0 || chat.mentionsUnread !== 0)
      ) {
        updated = { ...updated, unread: 0, mentionsUnread: 0 };
      }
      return updated === chat ? state : { ...state, chats: { ...state.chats, [chat.id]: updated } };
    }
    case 'typing': {
      // Someone I blocked is not shown typing to me either.
      if (action.userId === state.meId || action.userId in state.blocked) return state;
      const current = state.typing[action.chatId] ?? {};
      return {
        ...state,
        typing: { ...state.typing, [action.chatId]: { ...current, [action.userId]: action.until } },
      };
    }
    case 'typing/expire': {
      let changed = false;
      const typing: Record<string, Record<string, number>> = {};
      for (const [chatId, users] of Object.entries(state.typing)) {
        const kept: Record<string, number> = {};
        for (const [userId, until] of Object.entries(users)) {
          if (until > action.now) kept[userId] = until;
          else changed = true;
        }
        typing[chatId] = kept;
      }
      return changed ? { ...state, typing } : state;
    }
    case 'presence':
      if (state.online[action.userId] === action.online) return state;
      return { ...state, online: { ...state.online, [action.userId]: action.online } };
    case 'users/loaded': {
      if (action.users.length === 0) return state;
      const users = { ...state.users };
      for (const u of action.users) users[u.id] = u;
      return { ...state, users };
    }
    case 'active': {
      if (state.activeChatId === action.chatId) return state;
      return { ...state, activeChatId: action.chatId };
    }
    case 'seen': {
      const chat = state.chats[action.chatId];
      if (!chat || (chat.unread === 0 && chat.mentionsUnread === 0)) return state;
      return { ...state, chats: { ...state.chats, [chat.id]: { ...chat, unread: 0, mentionsUnread: 0 } } };
    }
    case 'connection': {
      const reason = action.status === 'connected' ? null : (action.reason ?? null);
      if (state.connection === action.status && state.connectionReason === reason) return state;
      if (state.connection === action.status) return { ...state, connectionReason: reason };
      // Offline we cannot know who else is: drop the dots until presence:get refills them on reconnect.
      return action.status === 'disconnected'
        ? { ...state, connection: action.status, connectionReason: reason, online: {}, typing: {} }
        : { ...state, connection: action.status, connectionReason: reason };
    }
    case 'blocked/loaded': {
      const blocked: Record<string, string> = action.first ? {} : { ...state.blocked };
      for (const u of action.users) blocked[u.id] = u.blockedAt;
      return { ...state, blocked, blockedLoaded: true, blockedCursor: action.nextCursor };
    }
    case 'blocked/changed': {
      if (action.blockedAt === null) {
        if (!(action.userId in state.blocked)) return state;
        return { ...state, blocked: dropKey(state.blocked, action.userId) };
      }
      if (action.userId in state.blocked) return state;
      return { ...state, blocked: { ...state.blocked, [action.userId]: action.blockedAt } };
    }
    case 'message/reactions': {
      let next = withItems(state, action.chatId, (items) =>
        applyReactions(items, action.messageId, action.reactions, action.reactionsVersion),
      );
      const chat = next.chats[action.chatId];
      const last = chat?.lastMessage;
      if (
        chat &&
        last &&
        last.id === action.messageId &&
        (last.reactionsVersion ?? 0) < action.reactionsVersion
      ) {
        const lastMessage = {
          ...last,
          reactions: action.reactions,
          reactionsVersion: action.reactionsVersion,
        };
        next = { ...next, chats: { ...next.chats, [chat.id]: { ...chat, lastMessage } } };
      }
      return next;
    }
    case 'ai/deltas': {
      if (state.answeredStreams[action.streamId]) return state;
      const current =
        state.streams[action.streamId] ?? newStream(action.chatId, action.streamId, action.replyTo);
      // A delta for a stream of another chat than the one it started in is not ours to show.
      if (current.chatId !== action.chatId) return state;
      let next = addDeltas(current, action.deltas, action.ended);
      if (next.replyTo === null && action.replyTo !== null) next = { ...next, replyTo: action.replyTo };
      if (next === state.streams[action.streamId]) return state;
      return { ...state, streams: { ...state.streams, [action.streamId]: next } };
    }
    case 'ai/stopping': {
      const stream = state.streams[action.streamId];
      if (!stream || stream.stopping === action.stopping) return state;
      return {
        ...state,
        streams: { ...state.streams, [action.streamId]: { ...stream, stopping: action.stopping } },
      };
    }
    case 'ai/drop':
      if (!(action.streamId in state.streams)) return state;
      return { ...state, streams: dropKey(state.streams, action.streamId) };
    case 'assistant/loaded':
      return { ...state, assistant: action.assistant };
    case 'focus':
      return {
        ...state,
        focus: { chatId: action.chatId, messageId: action.messageId, nonce: (state.focus?.nonce ?? 0) + 1 },
      };
    case 'focus/clear':
      return state.focus === null ? state : { ...state, focus: null };
  }
}
