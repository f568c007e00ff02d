import { useState } from 'react';
import { describeError } from '../api';
import { ASSISTANT_USER_ID } from '../contract';
import { useChatState, useController } from '../client/context';
import { fullName } from '../lib/format';
import { Markdown } from '../markdown/Markdown';
import type { AiStream } from '../state/ai-streams';
import { Icon } from './Icon';

/** An assistant answer while it streams: the text so far (Markdown), a Stop button; replaced by the stored answer. */
export function StreamingAnswer({ stream }: { stream: AiStream }) {
  const controller = useController();
  const name = useChatState((s) => fullName(s.users[s.assistant?.id ?? ASSISTANT_USER_ID]));
  const [error, setError] = useState<string | null>(null);

  const stop = () => {
    setError(null);
    controller.stopAnswer(stream.streamId).catch((err: unknown) => setError(describeError(err)));
  };

  return (
    <li
      className="message theirs assistant streaming"
      data-testid="ai-streaming"
      data-stream-id={stream.streamId}
      aria-busy="true"
    >
      <div className="sender-name">{name === '…' ? 'cohortGPT Assistant' : name}</div>
      <div className="bubble-row">
        <div className="bubble">
          <div className="text md" data-testid="ai-streaming-text">
            {stream.text ? <Markdown text={stream.text} /> : <span className="muted">Thinking…</span>}
            <span className="stream-caret" aria-hidden="true" />
          </div>
        </div>
        {!stream.ended && (
          <button
            type="button"
            className="btn ghost tiny stop-btn"
            data-testid="stop-answer"
            disabled={stream.stopping}
            onClick={stop}
          >
            <Icon name="stop" size={14} /> {stream.stopping ? 'Stopping…' : 'Stop'}
          </button>
        )}
      </div>
      {error && (
        <div className="failed-row" role="alert">
          {error}
        </div>
      )}
    </li>
  );
}
