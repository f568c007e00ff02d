import { Fragment, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { ChatSummary } from '../contract';
import { dayKey, formatDay, fullName } from '../lib/format';
import type { Thread } from '../state/store';
import { useChatState, useController } from '../client/context';
import { Icon } from './Icon';
import { MessageItem, type ReplyQuote } from './MessageItem';
import type { UiMessage } from '../state/messages';
import { StreamingAnswer } from './StreamingAnswer';

interface Props {
  chat: ChatSummary;
  thread: Thread | undefined;
  editingKey: string | null;
  onEdit: (key: string) => void;
  onStopEditing: () => void;
  onReply: (message: UiMessage) => void;
}

const HIGHLIGHT_MS = 2500;

const NEAR_BOTTOM_PX = 80;
const NEAR_TOP_PX = 200;
const GROUP_WINDOW_MS = 5 * 60_000;

/**
 * Newest at the bottom. Stays pinned to the bottom while the reader is there (or just sent something),
 * keeps the reading position when older history is prepended, and offers a jump button otherwise.
 */
export function MessageList({ chat, thread, editingKey, onEdit, onStopEditing, onReply }: Props) {
  const controller = useController();
  const users = useChatState((s) => s.users);
  const allStreams = useChatState((s) => s.streams);
  const focus = useChatState((s) => s.focus);
  const streams = useMemo(
    () => Object.values(allStreams).filter((st) => st.chatId === chat.id),
    [allStreams, chat.id],
  );
  const scrollRef = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const snapshot = useRef<{
    first?: string | undefined;
    last?: string | undefined;
    height: number;
    top: number;
  }>({
    height: 0,
    top: 0,
  });
  const [showJump, setShowJump] = useState(false);
  const [newBelow, setNewBelow] = useState(0);
  const items = thread?.items;
  const me = controller.me.id;
  const byId = useMemo(() => {
    const map = new Map<string, UiMessage>();
    for (const m of items ?? []) if (m.id) map.set(m.id, m);
    return map;
  }, [items]);
  const highlightedId = focus?.chatId === chat.id ? focus.messageId : null;

  // A jump (reply's original, search result): scroll the message into the middle, highlight it for a moment.
  useEffect(() => {
    if (!focus || focus.chatId !== chat.id) return;
    const el = scrollRef.current?.querySelector<HTMLElement>(`[data-message-id="${focus.messageId}"]`);
    if (!el) return;
    el.scrollIntoView({ block: 'center' });
    atBottom.current = false;
    const timer = window.setTimeout(() => controller.store.dispatch({ type: 'focus/clear' }), HIGHLIGHT_MS);
    return () => window.clearTimeout(timer);
  }, [focus, chat.id, controller]);

  const quoteOf = (m: UiMessage): ReplyQuote | null => {
    if (!m.replyTo) return null;
    const original = byId.get(m.replyTo);
    if (!original) return { id: m.replyTo, name: null, text: null, deleted: false };
    return {
      id: m.replyTo,
      name: original.senderId === me ? 'You' : fullName(users[original.senderId]),
      text: original.text,
      deleted: Boolean(original.deletedAt),
    };
  };

  const maybeLoadOlder = useCallback(() => {
    const el = scrollRef.current;
    if (!el || !thread?.loaded || thread.reachedStart || thread.loadingOlder) return;
    if (el.scrollTop < NEAR_TOP_PX || el.scrollHeight <= el.clientHeight + 10)
      void controller.loadOlder(chat.id);
  }, [controller, chat.id, thread]);

  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el || !items) return;
    const prev = snapshot.current;
    const first = items[0]?.key;
    const last = items[items.length - 1]?.key;
    const lastItem = items[items.length - 1];
    if (prev.first === undefined && prev.last === undefined) {
      el.scrollTop = el.scrollHeight;
    } else if (first !== prev.first && last === prev.last) {
      // Older messages went in above: keep what the reader was looking at in place.
      el.scrollTop = prev.top + (el.scrollHeight - prev.height);
    } else if (last !== prev.last) {
      if (atBottom.current || (lastItem?.senderId === me && lastItem.status !== 'sent')) {
        el.scrollTop = el.scrollHeight;
        atBottom.current = true;
      } else {
        setNewBelow((n) => n + 1);
      }
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
    snapshot.current = { first, last, height: el.scrollHeight, top: el.scrollTop };
    maybeLoadOlder();
  }, [items, me, maybeLoadOlder]);

  // An answer streaming in grows the list without new items: stay at the bottom while the reader is there.
  const streamLength = streams.reduce((n, st) => n + st.text.length + 1, 0);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (el && atBottom.current && streamLength > 0) el.scrollTop = el.scrollHeight;
  }, [streamLength]);

  const onScroll = () => {
    const el = scrollRef.current;
    if (!el) return;
    snapshot.current = { ...snapshot.current, height: el.scrollHeight, top: el.scrollTop };
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    atBottom.current = bottom;
    setShowJump(!bottom);
    if (bottom) setNewBelow(0);
    maybeLoadOlder();
  };

  const jumpToBottom = () => {
    const el = scrollRef.current;
    if (!el) return;
    el.scrollTo({ top: el.scrollHeight, behavior: 'smooth' });
    setNewBelow(0);
  };

  // In a direct chat, "Seen" goes under my latest message the other person has read.
  const otherRead =
    chat.type === 'direct' ? (chat.members?.find((m) => m.userId !== me)?.lastReadSeq ?? 0) : 0;
  let seenKey: string | null = null;
  if (items && otherRead > 0) {
    for (let i = items.length - 1; i >= 0; i--) {
      const m = items[i]!;
      if (m.senderId === me && m.seq !== null) {
        if (m.seq <= otherRead) seenKey = m.key;
        break;
      }
    }
  }

  return (
    <div className="message-area">
      <div
        ref={scrollRef}
        className="message-scroll"
        onScroll={onScroll}
        role="log"
        aria-label="Messages"
        aria-busy={!thread?.loaded}
        tabIndex={0}
      >
        {!thread?.loaded ? (
          <p className="list-note muted">Loading messages…</p>
        ) : (
          <>
            {thread.loadingOlder && <p className="list-note muted">Loading earlier messages…</p>}
            {thread.reachedStart && (
              <p className="list-note muted start-note">
                {chat.type === 'group'
                  ? `This is the start of ${chat.title || 'the group'}.`
                  : 'This is the start of your conversation.'}
              </p>
            )}
            {items && items.length === 0 && <p className="list-note muted">No messages yet. Say hi!</p>}
          </>
        )}
        <ol className="messages">
          {items?.map((m, i) => {
            const prev = i > 0 ? items[i - 1] : undefined;
            const newDay = !prev || dayKey(prev.createdAt) !== dayKey(m.createdAt);
            const continues =
              !newDay &&
              prev !== undefined &&
              prev.senderId === m.senderId &&
              new Date(m.createdAt).getTime() - new Date(prev.createdAt).getTime() < GROUP_WINDOW_MS;
            const mine = m.senderId === me;
            return (
              <Fragment key={m.key}>
                {newDay && (
                  <li className="day-separator" role="separator">
                    <span>{formatDay(m.createdAt)}</span>
                  </li>
                )}
                <MessageItem
                  message={m}
                  mine={mine}
                  continues={continues}
                  senderName={
                    chat.type !== 'direct' && !mine && !continues ? fullName(users[m.senderId]) : null
                  }
                  seen={m.key === seenKey}
                  editing={editingKey === m.key}
                  onEdit={onEdit}
                  onStopEditing={onStopEditing}
                  quote={quoteOf(m)}
                  onReply={onReply}
                  highlighted={m.id !== null && m.id === highlightedId}
                />
              </Fragment>
            );
          })}
          {streams.map((st) => (
            <StreamingAnswer key={st.streamId} stream={st} />
          ))}
        </ol>
      </div>
      {showJump && (
        <button
          type="button"
          className="jump-btn"
          onClick={jumpToBottom}
          aria-label="Jump to latest messages"
        >
          {newBelow > 0 && <span className="jump-count">{newBelow} new</span>}
          <Icon name="down" size={18} />
        </button>
      )}
    </div>
  );
}
