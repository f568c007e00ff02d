import { useEffect, useRef, useState } from 'react';
import { describeError } from '../api';
import type { SearchResult } from '../contract';
import { useChatState, useController } from '../client/context';
import { chatTitle, formatListStamp, fullName } from '../lib/format';
import { quoteLine } from './MessageItem';
import { Icon } from './Icon';

const DEBOUNCE_MS = 300;
const MAX_QUERY = 200;

/** Word search over my chats' messages (GET /api/search/messages); a result opens its chat at the message. */
export function MessageSearch() {
  const controller = useController();
  const chats = useChatState((s) => s.chats);
  const users = useChatState((s) => s.users);
  const [q, setQ] = useState('');
  const [results, setResults] = useState<SearchResult[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const latest = useRef(0);

  useEffect(() => {
    const query = q.trim();
    if (!query) return;
    const ticket = ++latest.current;
    const timer = window.setTimeout(() => {
      setBusy(true);
      controller.searchMessages(query).then(
        (found) => {
          if (ticket !== latest.current) return;
          setResults(found);
          setError(null);
          setBusy(false);
        },
        (err: unknown) => {
          if (ticket !== latest.current) return;
          setError(describeError(err));
          setResults(null);
          setBusy(false);
        },
      );
    }, DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [q, controller]);

  const change = (value: string) => {
    setQ(value);
    if (!value.trim()) {
      latest.current++; // an answer still on its way is for a query no longer there
      setResults(null);
      setError(null);
    }
  };

  const open = (r: SearchResult) => {
    setQ('');
    setResults(null);
    void controller.showMessage(r.chatId, r.message.id, r.message.seq).then((found) => {
      if (!found) setError('That message is no longer in the chat.');
    });
  };

  return (
    <div className="message-search">
      <div className="search-box sidebar-filter">
        <Icon name="search" size={18} />
        <input
          type="search"
          aria-label="Search messages"
          placeholder="Search messages"
          data-testid="message-search"
          value={q}
          maxLength={MAX_QUERY}
          onChange={(e) => change(e.target.value)}
          onKeyDown={(e) => e.key === 'Escape' && change('')}
        />
      </div>
      {error && (
        <p className="form-error small" role="alert">
          {error}
        </p>
      )}
      {results && (
        <div className="search-panel" aria-live="polite" aria-busy={busy}>
          {results.length === 0 ? (
            <p className="muted small list-note">No messages match.</p>
          ) : (
            <ul className="search-hits" aria-label="Messages found">
              {results.map((r) => {
                const chat = chats[r.chatId];
                const title = chat ? chatTitle(chat, controller.me.id, users) : 'A chat';
                return (
                  <li key={r.message.id}>
                    <button
                      type="button"
                      className="search-hit"
                      data-testid="search-result"
                      data-chat-id={r.chatId}
                      data-message-id={r.message.id}
                      onClick={() => open(r)}
                    >
                      <span className="chat-item-row">
                        <span className="chat-title">{title}</span>
                        <time className="chat-stamp" dateTime={r.message.createdAt}>
                          {formatListStamp(r.message.createdAt)}
                        </time>
                      </span>
                      <span className="search-snippet">
                        <span className="muted">{fullName(users[r.message.senderId])}: </span>
                        {quoteLine(r.message.text, 120)}
                      </span>
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
