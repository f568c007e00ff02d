import { z } from 'zod';

/**
 * A lone UTF-16 surrogate (in `u` mode a paired one is a single code point, so `\p{Cs}` matches only unpaired
 * halves) or a NUL. A lone surrogate has no UTF-8 encoding: the JSON ack would echo it while the store and
 * every other reader get U+FFFD, so two people would see two texts. NUL truncates C strings downstream.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for.
const ILL_FORMED = /[\p{Cs}\u0000]/u;

export const ILL_FORMED_TEXT_MESSAGE = 'must be well-formed Unicode text without NUL characters';

/** Whether `text` is well-formed Unicode (no lone surrogate) without NUL (docs/security.md). */
export function isWellFormedText(text: string): boolean {
  return !ILL_FORMED.test(text);
}

/**
 * `z.string()` that refuses lone surrogates and NUL before anything else (trim, length) runs: the base of
 * every string the API accepts. Chain the usual string checks after it.
 */
export function textString(): z.ZodString {
  return z.string().refine(isWellFormedText, { message: ILL_FORMED_TEXT_MESSAGE });
}
