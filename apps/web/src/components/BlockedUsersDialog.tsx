import { useEffect, useState } from 'react';
import { describeError } from '../api';
import { formatFull, fullName } from '../lib/format';
import { useChatState, useController } from '../client/context';
import { Avatar } from './Avatar';
import { Modal } from './Modal';

/** "Blocked users": who I blocked, newest first as the server pages them, each with an Unblock button. */
export function BlockedUsersDialog({ onClose }: { onClose: () => void }) {
  const controller = useController();
  const blocked = useChatState((s) => s.blocked);
  const loaded = useChatState((s) => s.blockedLoaded);
  const cursor = useChatState((s) => s.blockedCursor);
  const users = useChatState((s) => s.users);
  const [busyId, setBusyId] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    // Fresh from the server each time the dialog opens (another tab may have changed it).
    controller.loadBlocked().catch((err: unknown) => setError(describeError(err)));
  }, [controller]);

  const unblock = async (userId: string) => {
    setBusyId(userId);
    setError(null);
    try {
      await controller.unblock(userId);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusyId(null);
    }
  };

  const more = async () => {
    setLoadingMore(true);
    setError(null);
    try {
      await controller.loadBlocked(true);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setLoadingMore(false);
    }
  };

  const entries = Object.entries(blocked).sort(([, a], [, b]) => b.localeCompare(a));
  return (
    <Modal title="Blocked users" onClose={onClose}>
      <p className="muted small">
        People you block can’t message you, add you to groups, or see when you’re online or typing.
      </p>
      {!loaded && !error && <p className="muted small">Loading…</p>}
      {loaded && entries.length === 0 && <p className="muted small">You haven’t blocked anyone.</p>}
      {entries.length > 0 && (
        <ul className="member-list" aria-label="Blocked users" data-testid="blocked-list">
          {entries.map(([userId, blockedAt]) => {
            const name = fullName(users[userId]);
            return (
              <li key={userId} className="member" data-testid="blocked-user" data-user-id={userId}>
                <Avatar id={userId} name={name} size="sm" />
                <span className="member-name">
                  {name}
                  <span className="muted small block-stamp">Blocked {formatFull(blockedAt)}</span>
                </span>
                <button
                  type="button"
                  className="btn tiny secondary"
                  data-testid="unblock-user"
                  aria-label={`Unblock ${name}`}
                  disabled={busyId === userId}
                  onClick={() => void unblock(userId)}
                >
                  Unblock
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {cursor !== null && loaded && (
        <button type="button" className="btn ghost" disabled={loadingMore} onClick={() => void more()}>
          {loadingMore ? 'Loading…' : 'Show more'}
        </button>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </Modal>
  );
}
