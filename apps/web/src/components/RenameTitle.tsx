import { useState, type FormEvent } from 'react';
import { describeError } from '../api';
import { useController } from '../client/context';
import { Icon } from './Icon';

const MAX_TITLE = 100;

/** The chat's title in the header; its owner can rename it in place (DESIGN §8: 1–100 characters). */
export function RenameTitle({
  chatId,
  title,
  canRename,
}: {
  chatId: string;
  title: string;
  canRename: boolean;
}) {
  const controller = useController();
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(title);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const next = value.trim();
    if (!next) {
      setError('A title cannot be empty.');
      return;
    }
    if (next === title) {
      setEditing(false);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await controller.rename(chatId, next);
      setEditing(false);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  if (!editing) {
    return (
      <span className="title-row">
        <h1 data-testid="chat-title">{title}</h1>
        {canRename && (
          <button
            type="button"
            className="icon-btn small"
            data-testid="rename-button"
            aria-label="Rename chat"
            title="Rename"
            onClick={() => {
              setValue(title);
              setError(null);
              setEditing(true);
            }}
          >
            <Icon name="edit" size={15} />
          </button>
        )}
      </span>
    );
  }
  return (
    <form className="rename-form" onSubmit={(e) => void save(e)}>
      <input
        aria-label="Chat title"
        data-testid="rename-input"
        value={value}
        maxLength={MAX_TITLE}
        autoFocus
        disabled={busy}
        onChange={(e) => setValue(e.target.value)}
        onKeyDown={(e) => e.key === 'Escape' && setEditing(false)}
      />
      <button type="submit" className="btn primary tiny" disabled={busy} data-testid="rename-save">
        Save
      </button>
      <button type="button" className="btn ghost tiny" onClick={() => setEditing(false)}>
        Cancel
      </button>
      {error && (
        <span className="form-error small" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}
