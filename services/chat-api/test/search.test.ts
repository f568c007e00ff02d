import type { SearchResult } from '@cohort/common';
import { ChatClient, newId, startHarness, type Harness } from './support';
import { errorCodeOf, messageOf } from './support/conversations';

// GET /api/search/messages (DESIGN §8): $text over the caller's chats only, never deleted messages, best first.
let h: Harness;
let register: (name?: string) => Promise<ChatClient>;
beforeAll(async () => {
  h = await startHarness({ withAuth: true, env: { SEARCH_RATE_LIMIT: '100000/10s' } });
  register = async (name) => new ChatClient(h, await h.auth!.register(name));
});
afterAll(async () => {
  await h?.close();
});

const search = async (client: ChatClient, query: Record<string, string>) => {
  const res = await client.get(`/api/search/messages?${new URLSearchParams(query).toString()}`);
  return { res, results: (res.body as { results?: SearchResult[] }).results ?? [] };
};
const texts = (results: SearchResult[]) => results.map((r) => r.message.text);

describe('message search', () => {
  test('finds words with English stemming, case-insensitively, best matches first, with chatId and score', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const chatId = await alice.createGroup('ops', [bob.userId]);
    await alice.send(chatId, 'The deployment failed again');
    await bob.send(chatId, 'Deploying now: deploy deploy deploy');
    await bob.send(chatId, 'lunch?');
    const { res, results } = await search(alice, { q: 'DEPLOYS' });
    expect(res.status).toBe(200);
    // "deployment", "Deploying" and "DEPLOYS" all stem to "deploy"; more occurrences score higher.
    expect(texts(results)).toEqual(['Deploying now: deploy deploy deploy', 'The deployment failed again']);
    expect(results[0]).toMatchObject({ chatId, message: { chatId } });
    expect(results[0]!.score).toBeGreaterThan(0);
    for (let i = 1; i < results.length; i++)
      expect(results[i - 1]!.score).toBeGreaterThanOrEqual(results[i]!.score);
  });

  test('never returns a message of a chat the caller is not in, with many users and chats', async () => {
    const users = await Promise.all(Array.from({ length: 6 }, (_, i) => register(`u${i}`)));
    const word = `zebra${newId().slice(0, 6)}`;
    // Each user owns two chats shared with the next user only; every chat has a message with the word.
    const chatsOf = new Map<string, Set<string>>(users.map((u) => [u.userId, new Set<string>()]));
    for (const [i, owner] of users.entries()) {
      const next = users[(i + 1) % users.length]!;
      for (let k = 0; k < 2; k++) {
        const chatId = await owner.createGroup(`g${i}-${k}`, [next.userId]);
        chatsOf.get(owner.userId)!.add(chatId);
        chatsOf.get(next.userId)!.add(chatId);
        await owner.send(chatId, `a ${word} in ${chatId}`);
      }
    }
    for (const user of users) {
      const { results } = await search(user, { q: word, limit: '50' });
      const mine = chatsOf.get(user.userId)!;
      expect(new Set(results.map((r) => r.chatId))).toEqual(mine);
      expect(results).toHaveLength(mine.size);
    }
  });

  test('never returns deleted messages, and sees edits', async () => {
    const alice = await register('alice');
    const chatId = await alice.createGroup('g');
    const word = `quokka${newId().slice(0, 6)}`;
    const gone = messageOf(await alice.send(chatId, `${word} to delete`));
    const edited = messageOf(await alice.send(chatId, 'nothing yet'));
    expect((await alice.delete(`/api/chats/${chatId}/messages/${gone.id}`)).status).toBe(204);
    expect(
      (await alice.patch(`/api/chats/${chatId}/messages/${edited.id}`, { text: `now a ${word}` })).status,
    ).toBe(200);
    const { results } = await search(alice, { q: word });
    expect(results.map((r) => r.message.id)).toEqual([edited.id]);
  });

  test('phrases and negation as MongoDB reads them; chatId narrows to one of my chats', async () => {
    const alice = await register('alice');
    const [one, two] = [await alice.createGroup('one'), await alice.createGroup('two')];
    const tag = `kiwi${newId().slice(0, 6)}`;
    await alice.send(one, `${tag} red apple`);
    await alice.send(one, `${tag} apple red`);
    await alice.send(two, `${tag} green apple`);
    expect(texts((await search(alice, { q: `"red apple" ${tag}` })).results)).toEqual([`${tag} red apple`]);
    expect(texts((await search(alice, { q: `${tag} -green` })).results).sort()).toEqual(
      [`${tag} apple red`, `${tag} red apple`].sort(),
    );
    const narrowed = (await search(alice, { q: tag, chatId: two })).results;
    expect(narrowed.map((r) => r.chatId)).toEqual([two]);
  });

  test('chatId of a chat I am not in: 404 chat_not_found, as everywhere', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const bobs = await bob.createGroup('private');
    await bob.send(bobs, 'secret plans');
    const { res } = await search(alice, { q: 'secret', chatId: bobs });
    expect([res.status, errorCodeOf(res)]).toEqual([404, 'chat_not_found']);
  });

  test.each([
    ['a blank query', 'q=%20%20'],
    ['no query', ''],
    ['201 characters', `q=${'x'.repeat(201)}`],
    ['10 KB', `q=${'x'.repeat(10_240)}`],
    ['an operator object', 'q[$ne]=x'],
    ['two queries', 'q=a&q=b'],
    ['limit 51', 'q=a&limit=51'],
    ['limit 0', 'q=a&limit=0'],
    ['a bad chatId', 'q=a&chatId=zzz'],
    ['a NUL', 'q=a%00b'],
  ])('refuses %s with 400 validation_error', async (_name, query) => {
    const alice = await register('alice');
    const res = await alice.get(`/api/search/messages?${query}`);
    expect([res.status, errorCodeOf(res)]).toEqual([400, 'validation_error']);
  });
});
