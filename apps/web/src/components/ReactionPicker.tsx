import { useEffect, useRef, useState, type FormEvent } from 'react';

/** The quick set; any other emoji can be typed. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'] as const;

// One RGI emoji, as the server checks it (libs/common contracts/emoji.ts); `v` flag built at run time.
const ONE_EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v');

/** Whether the text is exactly one emoji (the server says the same: 400 otherwise). */
export function isOneEmoji(text: string): boolean {
  return new TextEncoder().encode(text).length <= 32 && ONE_EMOJI.test(text);
}

interface Props {
  onPick: (emoji: string) => void;
  onClose: () => void;
}

export function ReactionPicker({ onPick, onClose }: Props) {
  const [custom, setCustom] = useState('');
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    ref.current?.querySelector('button')?.focus();
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose();
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [onClose]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const emoji = custom.trim();
    if (!isOneEmoji(emoji)) {
      setError('Type one emoji.');
      return;
    }
    onPick(emoji);
  };

  return (
    <div
      className="reaction-picker"
      ref={ref}
      role="dialog"
      aria-label="Pick a reaction"
      data-testid="reaction-picker"
      onKeyDown={(e) => e.key === 'Escape' && onClose()}
    >
      <div className="reaction-quick">
        {QUICK_REACTIONS.map((emoji) => (
          <button
            key={emoji}
            type="button"
            className="reaction-option"
            data-testid="reaction-option"
            aria-label={`React with ${emoji}`}
            onClick={() => onPick(emoji)}
          >
            {emoji}
          </button>
        ))}
      </div>
      <form className="reaction-custom" onSubmit={submit}>
        <input
          aria-label="Any emoji"
          placeholder="Any emoji"
          data-testid="reaction-custom"
          value={custom}
          maxLength={16}
          onChange={(e) => {
            setCustom(e.target.value);
            setError(null);
          }}
        />
        <button type="submit" className="btn tiny secondary">
          Add
        </button>
      </form>
      {error && (
        <p className="form-error small" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
