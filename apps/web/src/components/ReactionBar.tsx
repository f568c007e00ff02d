import { useState } from 'react';
import { describeError } from '../api';
import type { ReactionSummary, UserInfo } from '../contract';
import { useChatState, useController } from '../client/context';
import { fullName } from '../lib/format';
import { ReactionPicker } from './ReactionPicker';

interface Props {
  chatId: string;
  messageId: string;
  reactions: readonly ReactionSummary[];
}

/** "Ada, Bo and 3 others" for a reaction's tooltip (the server names the first 10 who reacted). */
export function reactedBy(
  reaction: ReactionSummary,
  users: Readonly<Record<string, UserInfo>>,
  meId: string,
): string {
  const names = reaction.userIds.map((id) => (id === meId ? 'You' : fullName(users[id])));
  const others = reaction.count - names.length;
  if (others > 0) names.push(`${others} other${others === 1 ? '' : 's'}`);
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** The reactions under a message: counts, who reacted (on hover), click to add or take back mine. */
export function ReactionBar({ chatId, messageId, reactions }: Props) {
  const controller = useController();
  const users = useChatState((s) => s.users);
  const [error, setError] = useState<string | null>(null);
  const [picking, setPicking] = useState(false);
  const me = controller.me.id;

  const toggle = (emoji: string) => {
    setError(null);
    controller.toggleReaction(chatId, messageId, emoji).catch((err: unknown) => setError(describeError(err)));
  };

  if (reactions.length === 0 && !error) return null;
  return (
    <div className="reactions" data-testid="reactions">
      {reactions.map((r) => {
        const mine = r.userIds.includes(me);
        const who = reactedBy(r, users, me);
        return (
          <button
            key={r.emoji}
            type="button"
            className={`reaction${mine ? ' mine' : ''}`}
            data-testid="reaction"
            data-emoji={r.emoji}
            aria-pressed={mine}
            title={who}
            aria-label={`${r.emoji} ${r.count}: ${who}`}
            onClick={() => toggle(r.emoji)}
          >
            <span aria-hidden="true">{r.emoji}</span>
            <span className="reaction-count" data-testid="reaction-count">
              {r.count}
            </span>
          </button>
        );
      })}
      {reactions.length > 0 && (
        <span className="reaction-add-wrap">
          <button
            type="button"
            className="reaction add"
            aria-label="Add reaction"
            title="Add reaction"
            onClick={() => setPicking((p) => !p)}
          >
            +
          </button>
          {picking && (
            <ReactionPicker
              onPick={(emoji) => {
                setPicking(false);
                toggle(emoji);
              }}
              onClose={() => setPicking(false)}
            />
          )}
        </span>
      )}
      {error && (
        <span className="form-error small" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
