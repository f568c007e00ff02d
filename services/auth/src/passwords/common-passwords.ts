import { dictionary } from '@zxcvbn-ts/language-common';

/** How many of the most common leaked passwords are refused. */
export const COMMON_PASSWORDS_REFUSED = 10_000;

let refused: ReadonlySet<string> | undefined;

/**
 * Whether `password` is among the most common leaked passwords (zxcvbn-ts' frequency-ranked list),
 * compared case-insensitively. The list is decoded on first use.
 */
export function isCommonPassword(password: string): boolean {
  refused ??= new Set(
    dictionary['passwords-common'].slice(0, COMMON_PASSWORDS_REFUSED).map((p) => p.toLowerCase()),
  );
  return refused.has(password.toLowerCase());
}
