import { useEffect, useState } from 'react';
import { describeError } from '../api';
import type { ChatSummaryText } from '../contract';
import { useController } from '../client/context';
import { Markdown } from '../markdown/Markdown';
import { Modal } from './Modal';

/** "Catch me up": the summary of what I have not read in a chat (POST /api/chats/:chatId/summary). */
export function CatchUpDialog({
  chatId,
  title,
  onClose,
}: {
  chatId: string;
  title: string;
  onClose: () => void;
}) {
  const controller = useController();
  const [summary, setSummary] = useState<ChatSummaryText | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    controller.catchMeUp(chatId).then(
      (s) => live && setSummary(s),
      (err: unknown) => live && setError(describeError(err)),
    );
    return () => {
      live = false;
    };
  }, [controller, chatId]);

  return (
    <Modal title={`Catch up on ${title}`} onClose={onClose}>
      <div className="catch-up" data-testid="catch-up-panel" aria-busy={!summary && !error}>
        {!summary && !error && <p className="muted">Summarising what you missed…</p>}
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        {summary && (
          <>
            <div className="catch-up-text md" data-testid="catch-up-summary">
              {summary.summary ? (
                <Markdown text={summary.summary} />
              ) : (
                <p>Nothing new since you last read this chat.</p>
              )}
            </div>
            {summary.toSeq > 0 && (
              <p className="muted small">
                Messages {summary.fromSeq}–{summary.toSeq}
              </p>
            )}
          </>
        )}
        <div className="modal-actions">
          <button
            type="button"
            className="btn primary"
            onClick={() => {
              onClose();
              controller.openChat(chatId);
            }}
          >
            Open the chat
          </button>
        </div>
      </div>
    </Modal>
  );
}
