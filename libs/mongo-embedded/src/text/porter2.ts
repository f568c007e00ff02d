import { createRequire } from 'node:module';

/**
 * wink-porter2-stemmer (Snowball English, the stemmer MongoDB's `english` text indexes use) ships no type
 * declarations; its whole API is this one function. Loaded through `createRequire` so its type is stated here
 * once, rather than in an ambient declaration every project that compiles this store would have to include.
 */
const load = createRequire(__filename);
export const porter2Stem = load('wink-porter2-stemmer') as (lowerWord: string) => string;
