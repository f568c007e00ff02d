import { useEffect, useMemo, useRef, useState } from 'react';
import { describeError } from '../api';
import type { ChatSummary, UserInfo } from '../contract';
import { chatTitle, firstName, formatListStamp, fullName, otherMemberId, typingLine } from '../lib/format';
import { sortedChats } from '../state/store';
import { useChatState, useController } from '../client/context';
import { Avatar } from './Avatar';
import { BlockedUsersDialog } from './BlockedUsersDialog';
import { CatchUpDialog } from './CatchUpDialog';
import { Icon } from './Icon';
import { MessageSearch } from './MessageSearch';
import { quoteLine } from './MessageItem';

interface Props {
  onNewDirect: () => void;
  onNewGroup: () => void;
  onLogout: () => void;
}

export function ChatList({ onNewDirect, onNewGroup, onLogout }: Props) {
  const controller = useController();
  const chats = useChatState((s) => s.chats);
  const loaded = useChatState((s) => s.chatsLoaded);
  const users = useChatState((s) => s.users);
  const online = useChatState((s) => s.online);
  const typing = useChatState((s) => s.typing);
  const activeChatId = useChatState((s) => s.activeChatId);
  const connection = useChatState((s) => s.connection);
  const hasMore = useChatState((s) => s.chatsCursor !== null);
  const loadingMore = useChatState((s) => s.chatsLoadingMore);
  const [filter, setFilter] = useState('');
  const [blockedOpen, setBlockedOpen] = useState(false);
  const [moreError, setMoreError] = useState<string | null>(null);
  const [catchUp, setCatchUp] = useState<{ chatId: string; title: string } | null>(null);
  const [askError, setAskError] = useState<string | null>(null);
  const assistant = useChatState((s) => s.assistant);
  const listRef = useRef<HTMLElement>(null);
  const endRef = useRef<HTMLDivElement>(null);
  const me = controller.me;

  const list = useMemo(() => {
    const all = sortedChats(chats);
    const f = filter.trim().toLowerCase();
    return f ? all.filter((c) => chatTitle(c, me.id, users).toLowerCase().includes(f)) : all;
  }, [chats, filter, users, me.id]);

  const loadMore = () => {
    setMoreError(null);
    controller.loadMoreChats().catch((err: unknown) => setMoreError(describeError(err)));
  };

  // The next page loads by itself when the end of the list scrolls into view (the button is the fallback,
  // and what keyboard users reach). A failure stops it until the button is used.
  const autoLoad = hasMore && loaded && !loadingMore && moreError === null;
  useEffect(() => {
    const end = endRef.current;
    if (!autoLoad || !end || typeof IntersectionObserver === 'undefined') return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          controller.loadMoreChats().catch((err: unknown) => setMoreError(describeError(err)));
        }
      },
      { root: listRef.current, rootMargin: '200px' },
    );
    observer.observe(end);
    return () => observer.disconnect();
  }, [autoLoad, controller]);

  const askAssistant = () => {
    setAskError(null);
    controller.createAssistantChat().then(
      (chatId) => controller.openChat(chatId),
      (err: unknown) => setAskError(describeError(err)),
    );
  };

  const myName = fullName(users[me.id]);
  return (
    <>
      <header className="sidebar-header">
        <Avatar id={me.id} name={myName} online={connection === 'connected'} />
        <div className="me">
          <span className="me-name">{myName}</span>
          <span className="muted small">{me.email}</span>
        </div>
        <button
          type="button"
          className="icon-btn"
          data-testid="blocked-users-button"
          aria-label="Blocked users"
          title="Blocked users"
          onClick={() => setBlockedOpen(true)}
        >
          <Icon name="block" />
        </button>
        <button
          type="button"
          className="icon-btn"
          data-testid="logout"
          aria-label="Log out"
          title="Log out"
          onClick={onLogout}
        >
          <Icon name="logout" />
        </button>
      </header>
      <div className="sidebar-actions">
        <button type="button" className="btn primary" data-testid="new-direct-chat" onClick={onNewDirect}>
          <Icon name="plus" size={18} /> New chat
        </button>
        <button type="button" className="btn secondary" data-testid="new-group-chat" onClick={onNewGroup}>
          <Icon name="users" size={18} /> New group
        </button>
      </div>
      <div className="sidebar-actions ask-row">
        <button
          type="button"
          className="btn ghost ask-btn"
          data-testid="ask-assistant"
          onClick={askAssistant}
          title={
            assistant && !assistant.enabled
              ? 'The assistant is not configured on this server; it will say how to enable it.'
              : 'A new chat with the assistant'
          }
        >
          <Icon name="sparkle" size={18} /> Ask cohortGPT
        </button>
      </div>
      {askError && (
        <p className="form-error small sidebar-note" role="alert">
          {askError}
        </p>
      )}
      <MessageSearch />
      {Object.keys(chats).length > 4 && (
        <div className="search-box sidebar-filter">
          <Icon name="search" size={18} />
          <input
            type="search"
            aria-label="Filter chats"
            placeholder="Filter chats"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
          />
        </div>
      )}
      <nav className="chat-list-wrap" aria-label="Conversations" ref={listRef}>
        {!loaded && <p className="muted list-note">Loading chats…</p>}
        {loaded && list.length === 0 && (
          <p className="muted list-note">
            {filter ? 'No chat matches.' : 'No chats yet. Start one with “New chat”.'}
          </p>
        )}
        <ul className="chat-list">
          {list.map((chat) => (
            <ChatItem
              key={chat.id}
              chat={chat}
              meId={me.id}
              users={users}
              online={online}
              typingIds={Object.keys(typing[chat.id] ?? {})}
              active={chat.id === activeChatId}
              onOpen={() => controller.openChat(chat.id)}
              onCatchUp={() => setCatchUp({ chatId: chat.id, title: chatTitle(chat, me.id, users) })}
            />
          ))}
        </ul>
        {loaded && hasMore && (
          <div className="list-more" ref={endRef}>
            {moreError && (
              <p className="form-error small" role="alert">
                {moreError}
              </p>
            )}
            <button
              type="button"
              className="btn ghost"
              data-testid="load-more-chats"
              disabled={loadingMore}
              onClick={loadMore}
            >
              {loadingMore ? 'Loading…' : 'Load more chats'}
            </button>
          </div>
        )}
      </nav>
      {blockedOpen && <BlockedUsersDialog onClose={() => setBlockedOpen(false)} />}
      {catchUp && (
        <CatchUpDialog chatId={catchUp.chatId} title={catchUp.title} onClose={() => setCatchUp(null)} />
      )}
    </>
  );
}

interface ItemProps {
  chat: ChatSummary;
  meId: string;
  users: Readonly<Record<string, UserInfo>>;
  online: Readonly<Record<string, boolean>>;
  typingIds: string[];
  active: boolean;
  onOpen: () => void;
  onCatchUp: () => void;
}

function ChatItem({ chat, meId, users, online, typingIds, active, onOpen, onCatchUp }: ItemProps) {
  const title = chatTitle(chat, meId, users);
  const other = otherMemberId(chat, meId);
  const isOnline = other ? online[other] === true : false;
  const last = chat.lastMessage;
  let preview: string;
  if (typingIds.length > 0) {
    preview = chat.type === 'direct' ? 'typing…' : typingLine(typingIds.map((id) => firstName(users[id])));
  } else if (!last) {
    preview =
      chat.type === 'group' ? 'Group created' : chat.type === 'assistant' ? 'Ask anything' : 'Say hello 👋';
  } else {
    const body = last.deletedAt ? 'message deleted' : last.text;
    const who =
      last.senderId === meId ? 'You: ' : chat.type !== 'direct' ? `${firstName(users[last.senderId])}: ` : '';
    preview = who + quoteLine(body, 160);
  }
  const stamp = chat.lastMessageAt ?? chat.createdAt;
  return (
    <li>
      <button
        type="button"
        className={`chat-item${active ? ' active' : ''}${chat.unread > 0 ? ' unread' : ''}`}
        data-testid="chat-item"
        data-chat-id={chat.id}
        aria-current={active ? 'true' : undefined}
        onClick={onOpen}
      >
        <Avatar id={other ?? chat.id} name={title} online={isOnline} group={chat.type !== 'direct'} />
        <span className="chat-item-body">
          <span className="chat-item-row">
            <span className="chat-title">{title}</span>
            <time className="chat-stamp" dateTime={stamp}>
              {formatListStamp(stamp)}
            </time>
          </span>
          <span className="chat-item-row">
            <span className={`chat-preview${typingIds.length ? ' typing' : ''}`}>{preview}</span>
            {(chat.mentionsUnread ?? 0) > 0 && (
              <span
                className="badge mention-badge"
                data-testid="mention-badge"
                title={`${chat.mentionsUnread} unread mention${chat.mentionsUnread === 1 ? '' : 's'}`}
              >
                @{chat.mentionsUnread > 1 ? chat.mentionsUnread : ''}
                <span className="sr-only"> unread mentions</span>
              </span>
            )}
            {chat.unread > 0 && (
              <span className="badge" data-testid="unread-badge">
                {chat.unread > 99 ? '99+' : chat.unread}
                <span className="sr-only"> unread</span>
              </span>
            )}
          </span>
          {isOnline && <span className="sr-only">, online</span>}
        </span>
      </button>
      {chat.unread > 0 && !active && (
        <button
          type="button"
          className="link small catch-up-btn"
          data-testid="catch-up"
          aria-label={`Catch me up on ${title}`}
          onClick={onCatchUp}
        >
          Catch me up
        </button>
      )}
    </li>
  );
}
