import { chatSendPayloadSchema } from '../src/contracts/socket-events';
import {
  emailSchema,
  loginBodySchema,
  registerBodySchema,
  sendMessageBodySchema,
  userSearchQuerySchema,
} from '../src/contracts/http-schemas';
import { isWellFormedText, textString } from '../src/contracts/text';
import { parseOrThrow } from '../src/http/validate';
import { AppError } from '../src/errors';

const LONE_HIGH = '\uD83D';
const LONE_LOW = '\uDE00';

describe('isWellFormedText', () => {
  it.each([
    ['plain ASCII', 'hello'],
    ['accents and CJK', 'héllo 你好'],
    ['a surrogate pair (emoji)', 'hi 😀'],
    ['the empty string', ''],
  ])('accepts %s', (_name, text) => {
    expect(isWellFormedText(text)).toBe(true);
  });

  it.each([
    ['a lone high surrogate', `hi ${LONE_HIGH}`],
    ['a lone low surrogate', `${LONE_LOW} there`],
    ['a reversed pair', `${LONE_LOW}${LONE_HIGH}`],
    ['a NUL', 'a\u0000b'],
  ])('refuses %s', (_name, text) => {
    expect(isWellFormedText(text)).toBe(false);
  });
});

describe('textString', () => {
  it('runs the usual string checks after its own', () => {
    const schema = textString().trim().min(1).max(5);
    expect(schema.parse('  ok  ')).toBe('ok');
    expect(schema.safeParse('   ').success).toBe(false);
  });

  it('refuses an ill-formed string even where trimming would hide it', () => {
    expect(textString().trim().safeParse(` ${LONE_HIGH}x`).success).toBe(false);
  });
});

describe('the API schemas use it', () => {
  const send = { text: 'hello', clientMsgId: 'c-1' };

  it.each([
    ['a message text with a lone surrogate', sendMessageBodySchema, { ...send, text: `bad ${LONE_HIGH}` }],
    ['a message text with NUL', sendMessageBodySchema, { ...send, text: 'bad\u0000' }],
    ['a socket chat:send text', chatSendPayloadSchema, { ...send, chatId: 'a'.repeat(24), text: LONE_LOW }],
    [
      'a name with NUL',
      registerBodySchema,
      {
        email: 'x@example.com',
        password: 'long enough pw',
        fullName: { firstName: 'A\u0000', lastName: 'B' },
      },
    ],
    [
      'a password with a lone surrogate',
      loginBodySchema,
      { email: 'x@example.com', password: `pw${LONE_HIGH}` },
    ],
    ['a search query with NUL', userSearchQuerySchema, { q: 'ad\u0000a' }],
  ])('refuses %s with 400 validation_error', (_name, schema, input) => {
    let thrown: unknown;
    try {
      parseOrThrow(schema, input);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect(thrown).toMatchObject({ status: 400, code: 'validation_error' });
  });

  it('still accepts emoji in a message and an ordinary email', () => {
    expect(sendMessageBodySchema.parse({ ...send, text: 'hi 😀' }).text).toBe('hi 😀');
    expect(emailSchema.parse(' Ada@Example.com ')).toBe('ada@example.com');
  });
});
