import type { FullName } from '../contracts/domain';

/**
 * The assistant is a user record like any member (DESIGN §7): one fixed id in every deployment, so chat-api, the
 * assistant and the clients agree on it without a lookup. auth creates the record at start; it has no password
 * and can never log in.
 */
export const ASSISTANT_USER_ID = '0000000000000000000c0de1';
export const ASSISTANT_FULL_NAME: FullName = { firstName: 'cohortGPT', lastName: 'Assistant' };
export const ASSISTANT_EMAIL = 'cohortgpt@assistant.invalid';
/** An assistant chat's title until its owner or the assistant renames it (DESIGN §7). */
export const ASSISTANT_CHAT_DEFAULT_TITLE = 'New chat';
/** The name users call it by in text: `@cohortgpt`, any case, as a word. */
export const ASSISTANT_HANDLE = 'cohortgpt';

const handlePattern = new RegExp(`(^|[^\\p{L}\\p{N}_@])@${ASSISTANT_HANDLE}(?![\\p{L}\\p{N}_])`, 'iu');

/** Whether a message calls the assistant: its id among the mentions, or `@cohortgpt` as a word in the text. */
export function callsAssistant(message: { text: string; mentions?: readonly string[] | undefined }): boolean {
  return (message.mentions?.includes(ASSISTANT_USER_ID) ?? false) || handlePattern.test(message.text);
}
