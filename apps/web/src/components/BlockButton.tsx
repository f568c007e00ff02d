import { useState } from 'react';
import { describeError } from '../api';
import { useChatState, useController } from '../client/context';
import { Icon } from './Icon';
import { Modal } from './Modal';

interface Props {
  userId: string;
  name: string;
  /** `header`: a conversation header button; `tiny`: a row button (member lists). */
  variant: 'header' | 'tiny';
}

/** Block (after a confirmation that says what it does) or unblock one person. */
export function BlockButton({ userId, name, variant }: Props) {
  const controller = useController();
  const isBlocked = useChatState((s) => userId in s.blocked);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = async (action: 'block' | 'unblock') => {
    setBusy(true);
    setError(null);
    try {
      await (action === 'block' ? controller.block(userId) : controller.unblock(userId));
      setConfirming(false);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const className = variant === 'header' ? 'btn ghost' : 'btn tiny ghost';
  return (
    <>
      {isBlocked ? (
        <button
          type="button"
          className={className}
          data-testid="unblock-user"
          aria-label={`Unblock ${name}`}
          disabled={busy}
          onClick={() => void run('unblock')}
        >
          {variant === 'header' && <Icon name="block" size={18} />}
          <span className={variant === 'header' ? 'hide-narrow' : undefined}>Unblock</span>
        </button>
      ) : (
        <button
          type="button"
          className={className}
          data-testid="block-user"
          aria-label={`Block ${name}`}
          disabled={busy}
          onClick={() => {
            setError(null);
            setConfirming(true);
          }}
        >
          {variant === 'header' && <Icon name="block" size={18} />}
          <span className={variant === 'header' ? 'hide-narrow' : undefined}>Block</span>
        </button>
      )}
      {error && !confirming && (
        <span className="form-error small inline-error" role="alert">
          {error}
        </span>
      )}
      {confirming && (
        <Modal
          title={`Block ${name}?`}
          onClose={() => setConfirming(false)}
          footer={
            <>
              <button type="button" className="btn ghost" onClick={() => setConfirming(false)}>
                Cancel
              </button>
              <button
                type="button"
                className="btn danger"
                data-testid="confirm-block"
                disabled={busy}
                autoFocus
                onClick={() => void run('block')}
              >
                {busy ? 'Blocking…' : 'Block'}
              </button>
            </>
          }
        >
          <p>
            {name} won’t be able to send you messages, start a chat with you or add you to groups, and won’t
            see when you’re online or typing. You can unblock them any time.
          </p>
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
        </Modal>
      )}
    </>
  );
}
