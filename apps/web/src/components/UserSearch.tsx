import { useEffect, useId, useState } from 'react';
import { describeError } from '../api';
import type { UserInfo } from '../contract';
import { fullName } from '../lib/format';
import { useChatState, useController } from '../client/context';
import { Avatar } from './Avatar';
import { Icon } from './Icon';

interface Props {
  label: string;
  onPick: (user: UserInfo) => void;
  /** Ids never offered (myself, existing members). */
  exclude?: ReadonlySet<string>;
  /** Ids shown as chosen (group creation). */
  selected?: ReadonlySet<string>;
  busyId?: string | null;
  autoFocus?: boolean;
}

type Status =
  | { kind: 'idle' }
  | { kind: 'loading' }
  | { kind: 'done'; users: UserInfo[] }
  | { kind: 'error'; message: string };

/** The answer for one query; any other query shows as loading until its own answer arrives. */
type Answer = { query: string; status: Extract<Status, { kind: 'done' | 'error' }> };

export function UserSearch({ label, onPick, exclude, selected, busyId = null, autoFocus = false }: Props) {
  const controller = useController();
  const online = useChatState((s) => s.online);
  const [query, setQuery] = useState('');
  const [answer, setAnswer] = useState<Answer | null>(null);
  const inputId = useId();
  const resultsId = useId();
  const q = query.trim();
  // Derived rather than set from the effect: the status always belongs to the query on screen.
  const status: Status = !q ? { kind: 'idle' } : answer?.query === q ? answer.status : { kind: 'loading' };

  useEffect(() => {
    if (!q) return;
    let current = true;
    const timer = window.setTimeout(() => {
      controller.searchUsers(q).then(
        (users) => current && setAnswer({ query: q, status: { kind: 'done', users } }),
        (err: unknown) =>
          current && setAnswer({ query: q, status: { kind: 'error', message: describeError(err) } }),
      );
    }, 200);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [q, controller]);

  const users =
    status.kind === 'done'
      ? status.users.filter((u) => u.id !== controller.me.id && !exclude?.has(u.id))
      : [];

  return (
    <div className="user-search">
      <label htmlFor={inputId} className="field-label">
        {label}
      </label>
      <div className="search-box">
        <Icon name="search" size={18} />
        <input
          id={inputId}
          data-testid="user-search"
          type="search"
          placeholder="Name or email"
          autoComplete="off"
          autoFocus={autoFocus}
          aria-controls={resultsId}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
      </div>
      <div id={resultsId} className="search-results" aria-live="polite">
        {status.kind === 'loading' && <p className="muted small">Searching…</p>}
        {status.kind === 'error' && (
          <p className="form-error small" role="alert">
            {status.message}
          </p>
        )}
        {status.kind === 'done' && users.length === 0 && (
          <p className="muted small">No one found for “{q}”.</p>
        )}
        {users.length > 0 && (
          <ul className="result-list">
            {users.map((u) => {
              const isSelected = selected?.has(u.id) ?? false;
              return (
                <li key={u.id}>
                  <button
                    type="button"
                    className={`result${isSelected ? ' selected' : ''}`}
                    data-testid="user-result"
                    data-user-id={u.id}
                    aria-pressed={selected ? isSelected : undefined}
                    disabled={busyId === u.id}
                    onClick={() => onPick(u)}
                  >
                    <Avatar id={u.id} name={fullName(u)} online={online[u.id]} size="sm" />
                    <span className="result-text">
                      <span className="result-name">{fullName(u)}</span>
                      {/* The email only of people sharing a chat with me (or found by their exact email). */}
                      {u.email && <span className="muted small">{u.email}</span>}
                    </span>
                    {isSelected && <Icon name="check" size={18} />}
                  </button>
                </li>
              );
            })}
          </ul>
        )}
      </div>
    </div>
  );
}
