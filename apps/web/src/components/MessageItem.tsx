import { memo, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { describeError } from '../api';
import { formatFull, formatTime } from '../lib/format';
import type { UiMessage } from '../state/messages';
import { useController } from '../client/context';
import { Icon } from './Icon';

interface Props {
  message: UiMessage;
  mine: boolean;
  continues: boolean;
  senderName: string | null;
  seen: boolean;
  editing: boolean;
  onEdit: (key: string) => void;
  onStopEditing: () => void;
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
}: Props) {
  const controller = useController();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const deleted = Boolean(m.deletedAt);
  const canAct = mine && m.status === 'sent' && !deleted && m.id !== null;

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
  ]
    .filter(Boolean)
    .join(' ');

  return (
    <li className={classes} data-testid="message" data-seq={m.seq ?? undefined} data-status={m.status}>
      {senderName && <div className="sender-name">{senderName}</div>}
      <div className="bubble-row">
        <div className="bubble">
          {editing && canAct ? (
            <EditBox message={m} onDone={onStopEditing} />
          ) : (
            <span data-testid="message-text" className={deleted ? 'text deleted-text' : 'text'}>
              {deleted ? 'message deleted' : m.text}
            </span>
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
        {canAct && !editing && (
          <div className={`message-actions${confirmDelete ? ' open' : ''}`}>
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
          </div>
        )}
      </div>
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
