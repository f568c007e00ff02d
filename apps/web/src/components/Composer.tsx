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
import { completeMention, mentionQueryAt, mentionsInText, type MentionCandidate } from '../markdown/mentions';
import { Icon } from './Icon';
import { quoteLine } from './MessageItem';

const MAX = 4000;
/** Drafts survive switching chats (kept for the tab's lifetime). */
const drafts = new Map<string, string>();

/** The message being answered, as the composer shows it. */
export interface ReplyTarget {
  id: string;
  name: string;
  text: string;
}

/** Someone `@` can complete to: the id sent in `mentions`, the label written, the name shown in the list. */
export interface MentionOption extends MentionCandidate {
  display: string;
}

interface Props {
  chatId: string;
  onEditLast: () => void;
  replyingTo: ReplyTarget | null;
  onCancelReply: () => void;
  mentionOptions: readonly MentionOption[];
}

export const Composer = forwardRef<HTMLTextAreaElement | null, Props>(function Composer(
  { chatId, onEditLast, replyingTo, onCancelReply, mentionOptions },
  ref,
) {
  const controller = useController();
  const [text, setText] = useState(() => drafts.get(chatId) ?? '');
  const [picked, setPicked] = useState<MentionCandidate[]>([]);
  const [completion, setCompletion] = useState<{ start: number; options: MentionOption[] } | null>(null);
  const [selected, setSelected] = useState(0);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const hintId = useId();
  const listId = useId();
  useImperativeHandle(ref, () => inputRef.current as HTMLTextAreaElement, []);

  useEffect(() => {
    inputRef.current?.focus();
  }, [chatId, replyingTo]);

  // Grow with the text up to the CSS max-height, then scroll.
  useEffect(() => {
    const el = inputRef.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${el.scrollHeight}px`;
  }, [text]);

  const refreshCompletion = (value: string, caret: number) => {
    const query = mentionQueryAt(value, caret);
    const options = query
      ? completeMention(query.query, mentionOptions).map(
          (c) => mentionOptions.find((o) => o.id === c.id) ?? { ...c, display: c.label },
        )
      : [];
    setCompletion(query && options.length > 0 ? { start: query.start, options } : null);
    setSelected(0);
  };

  const update = (value: string, caret: number) => {
    setText(value);
    drafts.set(chatId, value);
    if (value.trim()) controller.typing(chatId);
    refreshCompletion(value, caret);
  };

  const pick = (option: MentionOption) => {
    const el = inputRef.current;
    if (!el || !completion) return;
    const caret = el.selectionStart;
    const inserted = `@${option.label} `;
    const value = text.slice(0, completion.start) + inserted + text.slice(caret);
    setText(value);
    drafts.set(chatId, value);
    setPicked((p) => [...p, { id: option.id, label: option.label }]);
    setCompletion(null);
    const at = completion.start + inserted.length;
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(at, at);
    });
  };

  const send = () => {
    if (!text.trim() || text.trim().length > MAX) return;
    controller.send(chatId, text, {
      replyTo: replyingTo?.id,
      mentions: mentionsInText(text, picked),
    });
    controller.stoppedTyping(chatId);
    setText('');
    setPicked([]);
    setCompletion(null);
    drafts.delete(chatId);
    if (replyingTo) onCancelReply();
    inputRef.current?.focus();
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    send();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (completion) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = completion.options.length;
        setSelected((i) => (i + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
        return;
      }
      if ((e.key === 'Enter' || e.key === 'Tab') && !e.nativeEvent.isComposing) {
        e.preventDefault();
        const option = completion.options[selected];
        if (option) pick(option);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setCompletion(null);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === 'Escape' && replyingTo) {
      e.preventDefault();
      onCancelReply();
    } else if (e.key === 'ArrowUp' && text === '') {
      e.preventDefault();
      onEditLast();
    }
  };

  const over = text.trim().length > MAX;
  const activeOption = completion ? `${listId}-${selected}` : undefined;
  return (
    <div className="composer-wrap">
      {replyingTo && (
        <div className="reply-preview" data-testid="reply-preview">
          <Icon name="reply" size={16} />
          <div className="reply-preview-body">
            <span className="reply-quote-name">Replying to {replyingTo.name}</span>
            <span className="reply-quote-text">{quoteLine(replyingTo.text)}</span>
          </div>
          <button
            type="button"
            className="icon-btn small"
            aria-label="Cancel reply"
            data-testid="cancel-reply"
            onClick={onCancelReply}
          >
            <Icon name="close" size={16} />
          </button>
        </div>
      )}
      {completion && (
        <ul className="mention-list" id={listId} role="listbox" aria-label="People to mention">
          {completion.options.map((o, i) => (
            <li
              key={o.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === selected}
              className={`mention-option${i === selected ? ' selected' : ''}`}
              data-testid="mention-option"
              onMouseDown={(e) => {
                e.preventDefault(); // keep the caret in the textarea
                pick(o);
              }}
            >
              {o.display}
              <span className="muted small"> @{o.label}</span>
            </li>
          ))}
        </ul>
      )}
      <form className="composer" onSubmit={onSubmit}>
        <label className="sr-only" htmlFor={`composer-${chatId}`}>
          Message
        </label>
        <textarea
          id={`composer-${chatId}`}
          ref={inputRef}
          data-testid="message-input"
          rows={1}
          placeholder={replyingTo ? 'Write a reply…' : 'Write a message… (@ to mention)'}
          aria-describedby={hintId}
          aria-autocomplete="list"
          aria-controls={completion ? listId : undefined}
          aria-activedescendant={activeOption}
          value={text}
          onChange={(e) => update(e.target.value, e.target.selectionStart)}
          onKeyDown={onKeyDown}
          onBlur={() => setCompletion(null)}
        />
        <span id={hintId} className="sr-only">
          Enter sends, Shift+Enter adds a line, @ mentions someone, Arrow Up edits your last message.
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
    </div>
  );
});
