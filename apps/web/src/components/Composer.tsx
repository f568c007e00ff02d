import {
  forwardRef,
  useEffect,
  useId,
  useImperativeHandle,
  useRef,
  useState,
  type FormEvent,
  type KeyboardEvent,
} from 'react';
import { useController } from '../client/context';
import { Icon } from './Icon';

const MAX = 4000;
/** Drafts survive switching chats (kept for the tab's lifetime). */
const drafts = new Map<string, string>();

interface Props {
  chatId: string;
  onEditLast: () => void;
}

export const Composer = forwardRef<HTMLTextAreaElement | null, Props>(function Composer(
  { chatId, onEditLast },
  ref,
) {
  const controller = useController();
  const [text, setText] = useState(() => drafts.get(chatId) ?? '');
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const hintId = useId();
  useImperativeHandle(ref, () => inputRef.current as HTMLTextAreaElement, []);

  useEffect(() => {
    inputRef.current?.focus();
  }, [chatId]);

  // Grow with the text up to the CSS max-height, then scroll.
  useEffect(() => {
    const el = inputRef.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${el.scrollHeight}px`;
  }, [text]);

  const update = (value: string) => {
    setText(value);
    drafts.set(chatId, value);
    if (value.trim()) controller.typing(chatId);
  };

  const send = () => {
    if (!text.trim() || text.trim().length > MAX) return;
    controller.send(chatId, text);
    controller.stoppedTyping(chatId);
    setText('');
    drafts.delete(chatId);
    inputRef.current?.focus();
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    send();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === 'ArrowUp' && text === '') {
      e.preventDefault();
      onEditLast();
    }
  };

  const over = text.trim().length > MAX;
  return (
    <form className="composer" onSubmit={onSubmit}>
      <label className="sr-only" htmlFor={`composer-${chatId}`}>
        Message
      </label>
      <textarea
        id={`composer-${chatId}`}
        ref={inputRef}
        data-testid="message-input"
        rows={1}
        placeholder="Write a message…"
        aria-describedby={hintId}
        value={text}
        onChange={(e) => update(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <span id={hintId} className="sr-only">
        Enter sends, Shift+Enter adds a line, Arrow Up edits your last message.
      </span>
      {text.length > MAX - 300 && (
        <span className={`char-count${over ? ' over' : ''}`} aria-live="polite">
          {text.trim().length}/{MAX}
        </span>
      )}
      <button
        type="submit"
        className="send-btn"
        data-testid="send-button"
        aria-label="Send message"
        disabled={!text.trim() || over}
      >
        <Icon name="send" />
      </button>
    </form>
  );
});
