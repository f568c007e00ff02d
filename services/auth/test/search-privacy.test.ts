import request from 'supertest';
import { ACCESS_COOKIE } from '@cohort/common';
import {
  freePort,
  generateTestKeys,
  spawnService,
  startTestMongo,
  withDatabase,
  type ServiceProcess,
  type TestKeys,
  type TestMongo,
} from '@cohort/testkit';
import { cookieValue, newUser, startTestAuth, type TestAuth } from './support';

interface Person {
  id: string;
  email: string;
  identity: string;
}

/**
 * User search with the real chat-api behind it (docs/http-api.md): an email is shown only of someone who shares a
 * chat with the searcher, or when the query is exactly their email.
 */
describe('user search shows emails only to people who share a chat', () => {
  let keys: TestKeys;
  let mongo: TestMongo;
  let chatApi: ServiceProcess;
  let auth: TestAuth;
  let caller: Person;
  let friend: Person;
  let stranger: Person;
  let peer: Person;

  async function register(firstName: string, lastName: string): Promise<Person> {
    const body = newUser({ firstName, lastName });
    const res = await request(auth.url).post('/api/auth/register').send(body).expect(201);
    return {
      id: res.body.user.id as string,
      email: body.email,
      identity: await auth.identityFor(cookieValue(res, ACCESS_COOKIE)),
    };
  }

  beforeAll(async () => {
    [keys, mongo] = await Promise.all([generateTestKeys(), startTestMongo('auth_search_privacy')]);
    // Each needs the other's address: auth's port is chosen first, chat-api is started pointing at it.
    const authPort = await freePort();
    chatApi = await spawnService({
      service: 'chat-api',
      env: {
        LOG_LEVEL: 'warn',
        MONGO_URL: withDatabase(mongo.url, 'chat_search_privacy'),
        INTERNAL_JWKS: JSON.stringify(keys.internalJwks),
        AUTH_URL: `http://127.0.0.1:${authPort}`,
      },
    });
    auth = await startTestAuth({
      mongoUrl: mongo.url,
      keys,
      env: { PORT: String(authPort), CHAT_API_URL: chatApi.url },
    });
    caller = await register('Searcher', 'Person');
    friend = await register('Zelda', 'Friend');
    stranger = await register('Zelda', 'Stranger');
    peer = await register('Other', 'Peer');
    // The caller and friend share a group; stranger is in a chat too, but not with the caller.
    await request(chatApi.url)
      .post('/api/chats')
      .set('x-cohort-identity', caller.identity)
      .send({ type: 'group', title: 'Friends', memberIds: [friend.id] })
      .expect(201);
    await request(chatApi.url)
      .post('/api/chats')
      .set('x-cohort-identity', stranger.identity)
      .send({ type: 'direct', userId: peer.id })
      .expect(201);
  }, 60_000);
  afterAll(async () => {
    await auth?.close();
    await chatApi?.stop();
    await mongo?.close();
  });

  const search = (q: string) =>
    request(auth.url)
      .get(`/api/users/search?q=${encodeURIComponent(q)}`)
      .set('x-cohort-identity', caller.identity);

  it('gives the email of a user sharing a chat and only the name of a stranger', async () => {
    const res = await search('zelda');
    expect(res.status).toBe(200);
    const byId = new Map((res.body.users as { id: string; email?: string }[]).map((u) => [u.id, u]));
    expect(byId.get(friend.id)).toEqual({
      id: friend.id,
      fullName: { firstName: 'Zelda', lastName: 'Friend' },
      email: friend.email,
    });
    expect(byId.get(stranger.id)).toEqual({
      id: stranger.id,
      fullName: { firstName: 'Zelda', lastName: 'Stranger' },
    });
  });

  it("gives a stranger's email when the query is exactly that email", async () => {
    const res = await search(stranger.email.toUpperCase());
    expect(res.body.users).toEqual([
      { id: stranger.id, fullName: { firstName: 'Zelda', lastName: 'Stranger' }, email: stranger.email },
    ]);
  });

  it('answers for the caller of the forwarded identity, not for anyone else', async () => {
    // The stranger shares a chat with peer, not with friend: from the stranger's seat only peer's email shows.
    const res = await request(auth.url)
      .get('/api/users/search?q=zelda')
      .set('x-cohort-identity', peer.identity);
    const emails = (res.body.users as { email?: string }[]).map((u) => u.email);
    expect(emails.filter(Boolean)).toEqual([stranger.email]);
  });

  it('is an internal route of chat-api that refuses a caller without a forwarded identity', async () => {
    const res = await request(chatApi.url)
      .post('/internal/shared-chat-users')
      .send({ userIds: [friend.id] });
    expect(res.status).toBe(401);
  });

  it('answers only about the ids asked, for the verified caller', async () => {
    const res = await request(chatApi.url)
      .post('/internal/shared-chat-users')
      .set('x-cohort-identity', caller.identity)
      .send({ userIds: [friend.id, stranger.id, peer.id, caller.id] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userIds: [friend.id] });
  });

  it.each([
    ['a non-id', { userIds: ['nope'] }],
    ['more than 50 ids', { userIds: Array.from({ length: 51 }, (_, i) => i.toString(16).padStart(24, '0')) }],
    ['an operator object', { userIds: { $ne: null } }],
  ])('chat-api answers 400 for %s', async (_case, body) => {
    const res = await request(chatApi.url)
      .post('/internal/shared-chat-users')
      .set('x-cohort-identity', caller.identity)
      .send(body);
    expect(res.status).toBe(400);
  });
});
