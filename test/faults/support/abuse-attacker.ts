/**
 * The attacker of the abuse case (test/faults/abuse.test.ts), in its own process as a real attacker's client
 * would be: its client-side work (parsing answers, a few dozen sockets) must not stall the event loop that
 * times the bystanders. One account, one address for HTTP (`plan.address`; its sockets come from 127.0.0.1,
 * the socket limits being per user), every limit at once, at full speed, until the plan's duration has
 * passed; prints its tally (per kind of abuse: status or ack code → count) as one JSON line on stdout.
 *
 *   ABUSE_PLAN='{…AttackPlan…}' node --conditions=source --import tsx test/faults/support/abuse-attacker.ts
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connectSocket, type ChatSocket, type TestUser } from '@cohort/testkit';
import { EdgeClient, type EdgeAnswer } from './edge-client';

export interface AttackPlan {
  url: string;
  address: string;
  attacker: TestUser;
  /** A group the attacker owns with the bystanders in it: sends, edits, removals and additions go there. */
  spamChatId: string;
  /** Added to every chat the attacker creates (bystanders and helpers: member additions). */
  memberIds: string[];
  /** Removed from and added back to the spam group. */
  churnIds: string[];
  /** An account whose password the attacker guesses (besides its own). */
  targetEmail: string;
  durationMs: number;
  /** Which parts run (all by default): to see what each one costs. */
  kinds: string[];
  /** Requests of one kind kept in flight at once. */
  lanes: number;
  /** Sockets the attacker tries to open (more than the cap). */
  sockets: number;
}

export type Tally = Record<string, Record<string, number>>;

const sleep = (msec: number) => new Promise<void>((r) => setTimeout(r, msec));
const count = (tally: Tally, kind: string, outcome: string) => {
  const row = (tally[kind] ??= {});
  row[outcome] = (row[outcome] ?? 0) + 1;
};

/**
 * How long a kind of abuse that has not met its limit yet goes on after the plan's duration. The attacker runs at
 * the lowest priority (it stands for a client on another machine): on a loaded machine it may not reach a limit
 * within the measured window, and "the attacker meets every limit" is then checked by letting it go on.
 */
const UNTIL_LIMITED_MS = 30_000;

/** When a kind of abuse counts as limited: the outcome its limit answers with. */
const LIMITED_OUTCOME: Record<string, string> = {
  'create-chat': '429',
  'add-member': '429',
  send: '429',
  edit: '429',
  'bad-login': '429',
  'socket-open': 'too_many_connections',
  'socket-event': 'rate_limited',
};

const limitMet = (tally: Tally, kind: string): boolean => {
  const outcome = LIMITED_OUTCOME[kind];
  return outcome === undefined || (tally[kind]?.[outcome] ?? 0) > 0;
};

/** Whether to go on: within the plan's duration, or after it (bounded) while `kind` has not met its limit. */
const goOn = (tally: Tally, kind: string, until: number): boolean =>
  performance.now() < until || (performance.now() < until + UNTIL_LIMITED_MS && !limitMet(tally, kind));

/**
 * Runs `step` back to back (full speed, `parallel` at once) until `until` (then on until `kind`, as tallied, met
 * its limit; see UNTIL_LIMITED_MS), bounded in iterations.
 */
async function flood(
  plan: AttackPlan,
  kind: string,
  until: number,
  parallel: number,
  step: (n: number) => Promise<void>,
  tally: Tally,
  tallyKind = kind,
): Promise<void> {
  if (!plan.kinds.includes(kind)) return;
  await Promise.all(
    Array.from({ length: parallel }, async (_, lane) => {
      for (let n = 0; goOn(tally, tallyKind, until) && n < 100_000; n += 1) await step(n * parallel + lane);
    }),
  );
}

/** The attacker: every limit at once from one account and one address, until `until`. */
async function attack(plan: AttackPlan, tally: Tally): Promise<void> {
  const until = performance.now() + plan.durationMs;
  const { attacker, spamChatId } = plan;
  const http = new EdgeClient(plan.url, plan.address, attacker.token);
  const anon = new EdgeClient(plan.url, plan.address);
  const record = (kind: string, answer: EdgeAnswer) => count(tally, kind, String(answer.status));
  const own = await http.call('POST', `/api/chats/${spamChatId}/messages`, {
    text: 'to edit',
    clientMsgId: randomUUID(),
  });
  const ownMessageId = (own.body as { message?: { id: string } }).message?.id ?? '000000000000000000000000';

  const attackerSockets: ChatSocket[] = [];
  const openSockets = async () => {
    if (!plan.kinds.includes('sockets')) return;
    for (let s = 0; s < plan.sockets && goOn(tally, 'socket-open', until); s += 1) {
      try {
        attackerSockets.push(await connectSocket(plan.url, attacker, { reconnection: false }));
        count(tally, 'socket-open', 'connected');
      } catch (err) {
        count(tally, 'socket-open', err instanceof Error ? err.message : 'error');
      }
    }
  };
  const socketEvents = async () => {
    // Bursts of 80 events on one socket at once: past the per-socket bucket (60) at every burst, and past the
    // per-user budget (600 per 10 s) over all sockets together.
    await flood(
      plan,
      'sockets',
      until,
      plan.lanes,
      async (n) => {
        const socket = attackerSockets[n % Math.max(1, attackerSockets.length)];
        if (!socket?.connected) return sleep(20);
        const acks = await Promise.all(
          Array.from({ length: 80 }, () =>
            socket
              .timeout(5000)
              .emitWithAck('chat:sync', { chatId: spamChatId, afterSeq: 0, limit: 1 })
              .catch(() => undefined),
          ),
        );
        for (const ack of acks)
          count(tally, 'socket-event', ack === undefined ? 'no_ack' : ack.ok ? 'ok' : ack.error.code);
      },
      tally,
      'socket-event',
    );
  };

  await Promise.all([
    // Chats created with every bystander and helper in them (18 member additions each), and more additions by
    // removing and re-adding helpers in the spam group.
    flood(
      plan,
      'create-chat',
      until,
      2 * plan.lanes,
      async (n) =>
        record(
          'create-chat',
          await http.call('POST', '/api/chats', {
            type: 'group',
            title: `flood ${n}`,
            memberIds: plan.memberIds,
          }),
        ),
      tally,
    ),
    flood(
      plan,
      'add-member',
      until,
      3 * plan.lanes,
      async (n) => {
        const target = plan.churnIds[n % plan.churnIds.length]!;
        await http.call('DELETE', `/api/chats/${spamChatId}/members/${target}`);
        record('add-member', await http.call('POST', `/api/chats/${spamChatId}/members`, { userId: target }));
      },
      tally,
    ),
    flood(
      plan,
      'send',
      until,
      3 * plan.lanes,
      async (n) =>
        record(
          'send',
          await http.call('POST', `/api/chats/${spamChatId}/messages`, {
            text: `spam ${n}`,
            clientMsgId: randomUUID(),
          }),
        ),
      tally,
    ),
    flood(
      plan,
      'edit',
      until,
      plan.lanes,
      async (n) =>
        record(
          'edit',
          await http.call('PATCH', `/api/chats/${spamChatId}/messages/${ownMessageId}`, {
            text: `edit ${n}`,
          }),
        ),
      tally,
    ),
    // Bad logins against bystander 0 and against its own account, from one address, many at once.
    flood(
      plan,
      'bad-login',
      until,
      2 * plan.lanes,
      async (n) =>
        record(
          'bad-login',
          await anon.call('POST', '/api/auth/login', {
            email: n % 2 === 0 ? plan.targetEmail : attacker.user.email,
            password: `wrong-${n}`,
          }),
        ),
      tally,
    ),
    // Paging through its whole chat list (a few hundred chats), again and again.
    flood(
      plan,
      'list-chats',
      until,
      plan.lanes,
      async () => {
        let cursor: string | null = null;
        for (let page = 0; page < 50 && performance.now() < until; page += 1) {
          const answer = await http.call(
            'GET',
            `/api/chats?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          );
          record('list-chats', answer);
          cursor = (answer.body as { nextCursor?: string | null } | undefined)?.nextCursor ?? null;
          if (!cursor) break;
        }
      },
      tally,
    ),
    openSockets().then(socketEvents),
  ]);
  for (const s of attackerSockets) s.close();
  http.close();
  anon.close();
}

const plan = JSON.parse(process.env.ABUSE_PLAN ?? '{}') as AttackPlan;
const tally: Tally = {};
attack(plan, tally).then(
  () => {
    process.stdout.write(`${JSON.stringify(tally)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
