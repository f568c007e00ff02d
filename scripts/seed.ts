// `npm run seed`: demo users and chats in a running instance (npm start, or the cluster with SEED_URL),
// through the public API like any client. Safe to run twice: existing demo users log in instead.
import { randomUUID } from 'node:crypto';
import type { Chat, PublicUser } from '@cohort/common';

const BASE_URL = (process.env.SEED_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
const PASSWORD = process.env.SEED_PASSWORD ?? 'cohort-demo-pass';

interface Session {
  user: PublicUser;
  token: string;
}

const people = [
  { email: 'ada@demo.cohort.dev', firstName: 'Ada', lastName: 'Lovelace' },
  { email: 'grace@demo.cohort.dev', firstName: 'Grace', lastName: 'Hopper' },
  { email: 'alan@demo.cohort.dev', firstName: 'Alan', lastName: 'Turing' },
  { email: 'katherine@demo.cohort.dev', firstName: 'Katherine', lastName: 'Johnson' },
];

async function call<T>(
  path: string,
  init: { method?: string; body?: unknown; token?: string } = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${BASE_URL}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

function tokenFrom(headers: Headers): string {
  for (const cookie of headers.getSetCookie()) {
    const match = /^token=([^;]+)/.exec(cookie);
    if (match?.[1]) return match[1];
  }
  throw new Error('no session cookie in the answer');
}

async function signIn(person: (typeof people)[number]): Promise<Session> {
  const registered = await call<{ user: PublicUser }>('/api/auth/register', {
    method: 'POST',
    body: {
      email: person.email,
      password: PASSWORD,
      fullName: { firstName: person.firstName, lastName: person.lastName },
    },
  });
  if (registered.status === 201) return { user: registered.body.user, token: tokenFrom(registered.headers) };
  const login = await call<{ user: PublicUser; error?: { message: string } }>('/api/auth/login', {
    method: 'POST',
    body: { email: person.email, password: PASSWORD },
  });
  if (login.status !== 200)
    throw new Error(`cannot sign in ${person.email}: ${login.status} ${JSON.stringify(login.body)}`);
  return { user: login.body.user, token: tokenFrom(login.headers) };
}

async function say(session: Session, chat: Chat, text: string): Promise<void> {
  const res = await call(`/api/chats/${chat.id}/messages`, {
    method: 'POST',
    token: session.token,
    body: { text, clientMsgId: randomUUID() },
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`send failed: ${res.status}`);
}

async function main(): Promise<void> {
  const [ada, grace, alan, katherine] = (await Promise.all(people.map(signIn))) as [
    Session,
    Session,
    Session,
    Session,
  ];
  const existing = await call<{ chats: Chat[] }>('/api/chats', { token: ada.token });
  if (existing.body.chats.some((c) => c.title === 'Welcome to cohortGPT')) {
    process.stdout.write(`Already seeded. Sign in at ${BASE_URL} as ${people[0]!.email} / ${PASSWORD}\n`);
    return;
  }
  const group = (
    await call<{ chat: Chat }>('/api/chats', {
      method: 'POST',
      token: ada.token,
      body: {
        type: 'group',
        title: 'Welcome to cohortGPT',
        memberIds: [grace.user.id, alan.user.id, katherine.user.id],
      },
    })
  ).body.chat;
  await say(ada, group, 'Welcome, everyone! This chat was created by `npm run seed`.');
  await say(grace, group, 'Messages arrive in real time on every open tab: try two browsers.');
  await say(alan, group, 'Close your laptop lid, send from another account, reopen: it catches up.');
  await say(katherine, group, 'Edit or delete your own messages from the message menu.');

  const direct = (
    await call<{ chat: Chat }>('/api/chats', {
      method: 'POST',
      token: ada.token,
      body: { type: 'direct', userId: grace.user.id },
    })
  ).body.chat;
  await say(ada, direct, 'Grace, coffee after the demo?');
  await say(grace, direct, 'Always.');

  process.stdout.write(
    `Seeded ${people.length} users and 2 chats at ${BASE_URL}\n` +
      people.map((p) => `  ${p.email} / ${PASSWORD}`).join('\n') +
      '\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `seed failed: ${err instanceof Error ? err.message : String(err)} (is the product running? npm start)\n`,
  );
  process.exit(1);
});
