import { memo, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { describeError } from '../api';
import type { UserInfo } from '../contract';
import { formatFull, formatTime } from '../lib/format';
import { Markdown } from '../markdown/Markdown';
import { plainText } from '../markdown/parse';
import type { MentionLabel } from '../markdown/mentions';
import type { UiMessage } from '../state/messages';
import { useChatState, useController } from '../client/context';
import { Icon } from './Icon';
import { ReactionBar } from './ReactionBar';
import { ReactionPicker } from './ReactionPicker';

/** What a reply shows of the message it answers. */
export interface ReplyQuote {
  id: string;
  /** Null when the original is not loaded (yet): the quote says so and a click loads history back to it. */
  name: string | null;
  text: string | null;
  deleted: boolean;
}

interface Props {
  message: UiMessage;
  mine: boolean;
  continues: boolean;
  senderName: string | null;
  seen: boolean;
  editing: boolean;
  onEdit: (key: string) => void;
  onStopEditing: () => void;
  quote: ReplyQuote | null;
  onReply: (message: UiMessage) => void;
  highlighted: boolean;
}

/** The `@labels` a message's mentions are written as: each mentioned person's full and first name. */
export function mentionLabels(
  ids: readonly string[] | undefined,
  users: Readonly<Record<string, UserInfo>>,
  meId: string,
): MentionLabel[] {
  const labels: MentionLabel[] = [];
  for (const id of ids ?? []) {
    const user = users[id];
    if (!user) continue;
    const full = `${user.fullName.firstName} ${user.fullName.lastName}`.trim();
    labels.push({ label: full, self: id === meId });
    if (user.fullName.firstName && user.fullName.firstName !== full)
      labels.push({ label: user.fullName.firstName, self: id === meId });
  }
  return labels;
}

/** One line of a quoted message (Markdown markers and line breaks flattened). */
export function quoteLine(text: string, max = 140): string {
  const flat = plainText(text.length > 2000 ? text.slice(0, 2000) : text);
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export const MessageItem = memo(function MessageItem({
  message: m,
  mine,
  continues,
  senderName,
  seen,
  editing,
  onEdit,
  onStopEditing,
  quote,
  onReply,
  highlighted,
}: Props) {
  const controller = useController();
  const users = useChatState((s) => s.users);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [picking, setPicking] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const deleted = Boolean(m.deletedAt);
  const canAct = mine && m.status === 'sent' && !deleted && m.id !== null;
  const canRespond = m.status === 'sent' && !deleted && m.id !== null;
  const labels = useMemo(
    () => mentionLabels(m.mentions, users, controller.me.id),
    [m.mentions, users, controller.me.id],
  );
  const mentionsMe = m.mentions?.includes(controller.me.id) ?? false;

  const react = (emoji: string) => {
    setPicking(false);
    if (!m.id) return;
    setActionError(null);
    controller
      .toggleReaction(m.chatId, m.id, emoji)
      .catch((err: unknown) => setActionError(describeError(err)));
  };

  const remove = async () => {
    if (!m.id) return;
    setActionError(null);
    try {
      await controller.remove(m.chatId, m.id);
    } catch (err) {
      setActionError(describeError(err));
    } finally {
      setConfirmDelete(false);
    }
  };

  const classes = [
    'message',
    mine ? 'mine' : 'theirs',
    continues ? 'continues' : '',
    m.status,
    deleted ? 'deleted' : '',
    m.ai ? 'assistant' : '',
    mentionsMe ? 'mentions-me' : '',
    highlighted ? 'highlighted' : '',
  ]
    .filter(Boolean)
    .join(' ');

  return (
    <li
      className={classes}
      data-testid="message"
      data-seq={m.seq ?? undefined}
      data-message-id={m.id ?? undefined}
      data-status={m.status}
    >
      {senderName && <div className="sender-name">{senderName}</div>}
      {quote && (
        <button
          type="button"
          className="reply-quote"
          data-testid="reply-quote"
          onClick={() => void controller.showMessage(m.chatId, quote.id)}
          title="Show the original message"
        >
          <Icon name="reply" size={13} />
          {quote.name === null ? (
            <span className="muted">Earlier message — show it</span>
          ) : (
            <>
              <span className="reply-quote-name">{quote.name}</span>
              <span className="reply-quote-text">
                {quote.deleted ? 'message deleted' : quoteLine(quote.text ?? '')}
              </span>
            </>
          )}
        </button>
      )}
      <div className="bubble-row">
        <div className="bubble">
          {editing && canAct ? (
            <EditBox message={m} onDone={onStopEditing} />
          ) : deleted ? (
            <span data-testid="message-text" className="text deleted-text">
              message deleted
            </span>
          ) : (
            <div data-testid="message-text" className="text md">
              <Markdown text={m.text} mentions={labels} />
            </div>
          )}
          {m.ai && m.ai.status !== 'done' && !deleted && (
            <p
              className={`ai-status ${m.ai.status}`}
              data-testid="ai-status"
              data-status={m.ai.status}
              role={m.ai.status === 'failed' ? 'alert' : undefined}
            >
              {m.ai.status === 'stopped'
                ? 'Stopped.'
                : (m.ai.error?.message ?? 'The assistant could not answer.')}
            </p>
          )}
          <span className="meta">
            {m.editedAt && !deleted && <span className="edited">edited</span>}
            <time dateTime={m.createdAt} title={formatFull(m.createdAt)}>
              {formatTime(m.createdAt)}
            </time>
            {mine && m.status === 'pending' && (
              <span className="status" title={m.error ?? 'Sending…'}>
                <Icon name="clock" size={13} />
                <span className="sr-only">Sending</span>
              </span>
            )}
            {mine && m.status === 'sent' && !deleted && (
              <span className="status" title="Sent">
                <Icon name="check" size={13} />
                <span className="sr-only">Sent</span>
              </span>
            )}
          </span>
        </div>
        {canRespond && !editing && (
          <div className={`message-actions${confirmDelete || picking ? ' open' : ''}`}>
            {confirmDelete ? (
              <>
                <button type="button" className="btn danger tiny" autoFocus onClick={() => void remove()}>
                  Delete
                </button>
                <button
                  type="button"
                  className="btn ghost tiny"
                  onClick={() => setConfirmDelete(false)}
                  onKeyDown={(e) => e.key === 'Escape' && setConfirmDelete(false)}
                >
                  Keep
                </button>
              </>
            ) : (
              <>
                <button
                  type="button"
                  className="icon-btn small"
                  data-testid="reply-button"
                  aria-label="Reply"
                  title="Reply"
                  onClick={() => onReply(m)}
                >
                  <Icon name="reply" size={16} />
                </button>
                <span className="reaction-add-wrap">
                  <button
                    type="button"
                    className="icon-btn small"
                    data-testid="react-button"
                    aria-label="React"
                    title="React"
                    aria-expanded={picking}
                    onClick={() => setPicking((p) => !p)}
                  >
                    <Icon name="smile" size={16} />
                  </button>
                  {picking && <ReactionPicker onPick={react} onClose={() => setPicking(false)} />}
                </span>
                {canAct && (
                  <>
                    <button
                      type="button"
                      className="icon-btn small"
                      aria-label="Edit message"
                      title="Edit"
                      onClick={() => onEdit(m.key)}
                    >
                      <Icon name="edit" size={16} />
                    </button>
                    <button
                      type="button"
                      className="icon-btn small"
                      aria-label="Delete message"
                      title="Delete"
                      onClick={() => setConfirmDelete(true)}
                    >
                      <Icon name="trash" size={16} />
                    </button>
                  </>
                )}
              </>
            )}
          </div>
        )}
      </div>
      {m.id && !deleted && m.reactions && m.reactions.length > 0 && (
        <ReactionBar chatId={m.chatId} messageId={m.id} reactions={m.reactions} />
      )}
      {m.status === 'failed' && (
        <div className="failed-row" role="alert">
          <Icon name="alert" size={14} />
          <span>Not sent{m.error ? `: ${m.error}` : ''}</span>
          <button
            type="button"
            className="link"
            data-testid="retry-button"
            onClick={() => controller.retry(m.chatId, m.clientMsgId)}
          >
            Retry
          </button>
          <button
            type="button"
            className="link muted"
            onClick={() => controller.discard(m.chatId, m.clientMsgId)}
          >
            Discard
          </button>
        </div>
      )}
      {actionError && (
        <div className="failed-row" role="alert">
          {actionError}
        </div>
      )}
      {m.status === 'pending' && m.error && <div className="seen">{m.error}</div>}
      {seen && <div className="seen">Seen</div>}
    </li>
  );
});

function EditBox({ message, onDone }: { message: UiMessage; onDone: () => void }) {
  const controller = useController();
  const [value, setValue] = useState(message.text);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
    el.style.height = `${el.scrollHeight}px`;
  }, []);

  const save = async () => {
    const text = value.trim();
    if (!text) {
      setError('A message cannot be empty. Delete it instead.');
      return;
    }
    if (text === message.text || !message.id) {
      onDone();
      return;
    }
    setBusy(true);
    try {
      await controller.edit(message.chatId, message.id, text);
      onDone();
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void save();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      onDone();
    }
  };

  return (
    <div className="edit-box">
      <textarea
        ref={ref}
        aria-label="Edit message"
        data-testid="edit-input"
        value={value}
        maxLength={4000}
        disabled={busy}
        onChange={(e) => {
          setValue(e.target.value);
          e.target.style.height = 'auto';
          e.target.style.height = `${e.target.scrollHeight}px`;
        }}
        onKeyDown={onKeyDown}
      />
      {error && (
        <p className="form-error small" role="alert">
          {error}
        </p>
      )}
      <div className="edit-actions">
        <span className="muted small">Esc to cancel · Enter to save</span>
        <button type="button" className="btn ghost tiny" onClick={onDone}>
          Cancel
        </button>
        <button type="button" className="btn primary tiny" disabled={busy} onClick={() => void save()}>
          Save
        </button>
      </div>
    </div>
  );
}
