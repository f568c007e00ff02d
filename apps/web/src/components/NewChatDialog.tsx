import { useId, useMemo, useState, type FormEvent } from 'react';
import { describeError } from '../api';
import type { UserInfo } from '../contract';
import { fullName } from '../lib/format';
import { useController } from '../client/context';
import { Modal } from './Modal';
import { UserSearch } from './UserSearch';
import { Icon } from './Icon';

interface Props {
  mode: 'direct' | 'group';
  onClose: () => void;
  onCreated: (chatId: string) => void;
}

export function NewChatDialog({ mode, onClose, onCreated }: Props) {
  return mode === 'direct' ? (
    <DirectChatDialog onClose={onClose} onCreated={onCreated} />
  ) : (
    <GroupChatDialog onClose={onClose} onCreated={onCreated} />
  );
}

function DirectChatDialog({ onClose, onCreated }: Omit<Props, 'mode'>) {
  const controller = useController();
  const [busyId, setBusyId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const start = async (user: UserInfo) => {
    setBusyId(user.id);
    setError(null);
    try {
      onCreated(await controller.createDirect(user.id));
    } catch (err) {
      setError(describeError(err, 'direct'));
      setBusyId(null);
    }
  };

  return (
    <Modal title="New chat" onClose={onClose}>
      <UserSearch
        label="Who do you want to talk to?"
        onPick={(u) => void start(u)}
        busyId={busyId}
        autoFocus
      />
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </Modal>
  );
}

function GroupChatDialog({ onClose, onCreated }: Omit<Props, 'mode'>) {
  const controller = useController();
  const [title, setTitle] = useState('');
  const [picked, setPicked] = useState<UserInfo[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const formId = useId();
  const selected = useMemo(() => new Set(picked.map((u) => u.id)), [picked]);

  const toggle = (user: UserInfo) =>
    setPicked((list) =>
      list.some((u) => u.id === user.id) ? list.filter((u) => u.id !== user.id) : [...list, user],
    );

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!title.trim()) {
      setError('Give the group a name.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onCreated(
        await controller.createGroup(
          title,
          picked.map((u) => u.id),
        ),
      );
    } catch (err) {
      setError(describeError(err, 'group'));
      setBusy(false);
    }
  };

  return (
    <Modal
      title="New group"
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            form={formId}
            className="btn primary"
            data-testid="create-group"
            disabled={busy}
          >
            {busy ? 'Creating…' : `Create group${picked.length ? ` (${picked.length + 1})` : ''}`}
          </button>
        </>
      }
    >
      <form id={formId} onSubmit={submit}>
        <label className="field">
          <span>Group name</span>
          <input
            data-testid="group-title"
            required
            maxLength={120}
            autoFocus
            placeholder="Weekend hike"
            value={title}
            onChange={(e) => setTitle(e.target.value)}
          />
        </label>
      </form>
      {picked.length > 0 && (
        <ul className="chips" aria-label="Chosen members">
          {picked.map((u) => (
            <li key={u.id} className="chip">
              {fullName(u)}
              <button
                type="button"
                className="chip-remove"
                aria-label={`Remove ${fullName(u)}`}
                onClick={() => toggle(u)}
              >
                <Icon name="close" size={14} />
              </button>
            </li>
          ))}
        </ul>
      )}
      <UserSearch label="Add people" onPick={toggle} selected={selected} />
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </Modal>
  );
}
