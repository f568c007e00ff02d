import { useCallback, useRef, useState } from 'react';
import { chatTitle, firstName, otherMemberId, typingLine } from '../lib/format';
import { useChatState, useController } from '../client/context';
import { Avatar } from './Avatar';
import { BlockButton } from './BlockButton';
import { Composer } from './Composer';
import { Icon } from './Icon';
import { MembersDialog } from './MembersDialog';
import { MessageList } from './MessageList';

export function Conversation({ chatId }: { chatId: string }) {
  const controller = useController();
  const chat = useChatState((s) => s.chats[chatId]);
  const thread = useChatState((s) => s.threads[chatId]);
  const users = useChatState((s) => s.users);
  const online = useChatState((s) => s.online);
  const typing = useChatState((s) => s.typing[chatId]);
  const blocked = useChatState((s) => s.blocked);
  const [editingKey, setEditingKey] = useState<string | null>(null);
  const [membersOpen, setMembersOpen] = useState(false);
  const composerRef = useRef<HTMLTextAreaElement>(null);
  const me = controller.me.id;

  const focusComposer = useCallback(() => composerRef.current?.focus(), []);
  const stopEditing = useCallback(() => {
    setEditingKey(null);
    focusComposer();
  }, [focusComposer]);

  const editLast = useCallback(() => {
    const items = thread?.items ?? [];
    for (let i = items.length - 1; i >= 0; i--) {
      const m = items[i]!;
      if (m.senderId === me && m.status === 'sent' && !m.deletedAt) {
        setEditingKey(m.key);
        return;
      }
    }
  }, [thread, me]);

  if (!chat) {
    return (
      <div className="empty-pane">
        <h2>This chat is no longer available</h2>
        <button type="button" className="btn secondary" onClick={() => controller.openChat(null)}>
          Back to chats
        </button>
      </div>
    );
  }

  const title = chatTitle(chat, me, users);
  const other = otherMemberId(chat, me);
  const typingNames = Object.keys(typing ?? {})
    .filter((id) => id !== me)
    .map((id) => firstName(users[id]));
  const memberCount = chat.members?.length;
  const subtitle = typingNames.length
    ? typingLine(typingNames)
    : chat.type === 'direct'
      ? other && online[other]
        ? 'online'
        : 'offline'
      : memberCount
        ? `${memberCount} members`
        : 'group';

  return (
    <section className="conversation" aria-label={`Conversation with ${title}`}>
      <header className="conversation-header">
        <button
          type="button"
          className="icon-btn back-btn"
          aria-label="Back to chats"
          onClick={() => {
            controller.openChat(null);
            // Back in the list, keyboard focus lands on the chat just left.
            requestAnimationFrame(() =>
              document
                .querySelector<HTMLElement>(`[data-testid="chat-item"][data-chat-id="${chatId}"]`)
                ?.focus(),
            );
          }}
        >
          <Icon name="back" />
        </button>
        <Avatar
          id={other ?? chat.id}
          name={title}
          online={other ? online[other] : undefined}
          group={chat.type === 'group'}
        />
        <div className="conversation-title">
          <h1>{title}</h1>
          <p className={`subtitle${typingNames.length ? ' typing' : ''}`} aria-live="polite">
            {subtitle}
          </p>
        </div>
        {other && <BlockButton userId={other} name={title} variant="header" />}
        {chat.type === 'group' && (
          <button
            type="button"
            className="btn ghost"
            data-testid="members-button"
            onClick={() => setMembersOpen(true)}
            aria-label={chat.ownerId === me ? 'Members and add people' : 'Members'}
          >
            <Icon name="users" size={18} />
            <span className="hide-narrow">{chat.ownerId === me ? 'Add people' : 'Members'}</span>
          </button>
        )}
      </header>
      <MessageList
        chat={chat}
        thread={thread}
        editingKey={editingKey}
        onEdit={setEditingKey}
        onStopEditing={stopEditing}
      />
      {other && other in blocked && (
        <p className="blocked-note" role="status" data-testid="blocked-note">
          You blocked {title}. They can’t send you messages.
        </p>
      )}
      <Composer ref={composerRef} chatId={chatId} onEditLast={editLast} />
      {membersOpen && <MembersDialog chatId={chatId} onClose={() => setMembersOpen(false)} />}
    </section>
  );
}
