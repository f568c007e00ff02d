import { countTokens as countO200k } from 'gpt-tokenizer';

/** Per-message framing the chat format adds around each turn (role, separators), as OpenAI documents it. */
export const TURN_OVERHEAD_TOKENS = 4;

/**
 * Tokens of `text` under o200k_base (gpt-tokenizer: pure JS, the encoding ships with the package, nothing is
 * downloaded). Other models' tokenizers differ by a few percent; the context budget keeps a margin for that.
 */
export function countTokens(text: string): number {
  return countO200k(text);
}

/** Tokens of one chat turn. */
export function turnTokens(content: string): number {
  return countTokens(content) + TURN_OVERHEAD_TOKENS;
}
