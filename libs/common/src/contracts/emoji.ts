/**
 * One emoji, as Unicode's RGI set (the emoji every vendor draws: skin tones, ZWJ sequences, flags and keycaps
 * included) defines it. `\p{RGI_Emoji}` is a property of strings, only available with the `v` flag (Node 20,
 * current browsers); built with `new RegExp` because the compile target predates the flag. Anchored: "👍👍",
 * "👍 " or a letter are not one emoji.
 */
const ONE_EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v');

/** A reaction is at most this many UTF-8 bytes (the longest RGI sequences, family ZWJ ones, are 25). */
export const EMOJI_MAX_BYTES = 32;

/** Whether `text` is exactly one RGI emoji of at most 32 UTF-8 bytes. */
export function isSingleEmoji(text: string): boolean {
  return Buffer.byteLength(text, 'utf8') <= EMOJI_MAX_BYTES && ONE_EMOJI.test(text);
}
