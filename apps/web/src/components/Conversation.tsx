import { useCallback, useMemo, useRef, useState } from 'react';
import { ASSISTANT_USER_ID } from '../contract';
import { chatTitle, firstName, fullName, otherMemberId, typingLine } from '../lib/format';
import { ASSISTANT_HANDLE } from '../markdown/mentions';
import type { UiMessage } from '../state/messages';
import { useChatState, useController } from '../client/context';
import { Avatar } from './Avatar';
import { BlockButton } from './BlockButton';
import { Composer, type MentionOption, type ReplyTarget } from './Composer';
import { Icon } from './Icon';
import { MembersDialog } from './MembersDialog';
import { MessageList } from './MessageList';
import { RenameTitle } from './RenameTitle';

export function Conversation({ chatId }: { chatId: string }) {
  const controller = useController();
  const chat = useChatState((s) => s.chats[chatId]);
  const thread = useChatState((s) => s.threads[chatId]);
  const users = useChatState((s) => s.users);
  const online = useChatState((s) => s.online);
  const typing = useChatState((s) => s.typing[chatId]);
  const blocked = useChatState((s) => s.blocked);
  const assistant = useChatState((s) => s.assistant);
  const [editingKey, setEditingKey] = useState<string | null>(null);
  const [replyingTo, setReplyingTo] = useState<ReplyTarget | null>(null);
  const [membersOpen, setMembersOpen] = useState(false);
  const composerRef = useRef<HTMLTextAreaElement>(null);
  const me = controller.me.id;

  const focusComposer = useCallback(() => composerRef.current?.focus(), []);
  const stopEditing = useCallback(() => {
    setEditingKey(null);
    focusComposer();
  }, [focusComposer]);

  const assistantId = assistant?.id ?? ASSISTANT_USER_ID;
  const members = chat?.members;
  const mentionOptions = useMemo<MentionOption[]>(() => {
    const options: MentionOption[] = [];
    for (const m of members ?? []) {
      if (m.userId === me) continue;
      if (m.userId === assistantId) {
        options.push({ id: m.userId, label: ASSISTANT_HANDLE, display: 'cohortGPT Assistant' });
        continue;
      }
      const user = users[m.userId];
      if (!user) continue;
      const label = `${user.fullName.firstName} ${user.fullName.lastName}`.trim();
      if (label) options.push({ id: m.userId, label, display: fullName(user) });
    }
    return options;
  }, [members, users, me, assistantId]);

  const reply = useCallback(
    (m: UiMessage) => {
      if (!m.id) return;
      setReplyingTo({
        id: m.id,
        name: m.senderId === me ? 'yourself' : fullName(users[m.senderId]),
        text: m.text,
      });
    },
    [me, users],
  );
  const cancelReply = useCallback(() => setReplyingTo(null), []);

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
      : chat.type === 'assistant'
        ? assistant?.model
          ? `cohortGPT · ${assistant.model}`
          : 'cohortGPT'
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
          <RenameTitle
            key={title}
            chatId={chat.id}
            title={title}
            canRename={chat.type !== 'direct' && chat.ownerId === me}
          />
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
        onReply={reply}
      />
      {assistant &&
        !assistant.enabled &&
        (chat.type === 'assistant' || members?.some((m) => m.userId === assistantId)) && (
          <p className="assistant-note muted small" role="note" data-testid="assistant-disabled">
            The assistant is not configured on this server: its answers will say how to enable it.
          </p>
        )}
      {other && other in blocked && (
        <p className="blocked-note" role="status" data-testid="blocked-note">
          You blocked {title}. They can’t send you messages.
        </p>
      )}
      <Composer
        ref={composerRef}
        chatId={chatId}
        onEditLast={editLast}
        replyingTo={replyingTo}
        onCancelReply={cancelReply}
        mentionOptions={mentionOptions}
      />
      {membersOpen && <MembersDialog chatId={chatId} onClose={() => setMembersOpen(false)} />}
    </section>
  );
}
