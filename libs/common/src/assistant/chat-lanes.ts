import type { Logger } from '../logger';
import type { AssistantTrigger } from './trigger-log';

/** A trigger handed to the assistant: `redelivered` when it may have been (partly) handled before (a takeover). */
export interface TriggerDelivery {
  trigger: AssistantTrigger;
  redelivered: boolean;
}

/** Resolves once the trigger is answered (the answer stored); a rejection is retried after a pause. */
export type TriggerHandler = (delivery: TriggerDelivery) => Promise<void>;

/** What a trigger log hands triggers to: one generation at a time per chat, in log order, across chats at once. */
export interface TriggerConsumer {
  start(handler: TriggerHandler): Promise<void>;
  /** Stops taking triggers and waits (bounded) for those being handled; unfinished ones are redelivered later. */
  close(): Promise<void>;
}

export interface LaneEntry {
  /** Unique within the log (a stream entry id). */
  id: string;
  /** Groups entries whose completion the log tracks together (a partition). */
  group: string;
  trigger: AssistantTrigger;
  redelivered: boolean;
}

export interface ChatLanes {
  /** Queues the entry behind the chat's earlier ones; ignored when an entry of that id is already queued. */
  push(entry: LaneEntry): void;
  /** Entries queued or being handled, in total and in one group. */
  size(group?: string): number;
  /** Resolves when every lane is empty, or after `boundMs`. */
  drained(boundMs: number): Promise<void>;
  /** No retries or new starts from now on; entries not started are dropped (the log redelivers them). */
  stop(): void;
}

export interface ChatLanesOptions {
  handler: TriggerHandler;
  /** Called after the handler resolved (acknowledge the entry); its failure is logged. */
  done: (entry: LaneEntry) => Promise<void>;
  logger: Logger;
  /** First pause before a failed handler runs again (doubles up to 30 s). */
  retryMs?: number;
}

/**
 * Per-chat FIFO lanes: a chat's triggers run one after another in the order they were pushed (its answers follow
 * the order of the messages that triggered them); different chats run at the same time. A handler that fails is
 * retried, holding its lane, so a later trigger of the chat never overtakes it.
 */
export function createChatLanes({ handler, done, logger, retryMs = 500 }: ChatLanesOptions): ChatLanes {
  const lanes = new Map<string, LaneEntry[]>();
  const known = new Set<string>();
  const groups = new Map<string, number>();
  let stopped = false;
  let idle: (() => void)[] = [];

  const count = (group: string, by: number) => {
    const next = (groups.get(group) ?? 0) + by;
    if (next <= 0) groups.delete(group);
    else groups.set(group, next);
  };

  const settle = (entry: LaneEntry) => {
    known.delete(entry.id);
    count(entry.group, -1);
    if (known.size === 0) {
      const waiting = idle;
      idle = [];
      for (const resolve of waiting) resolve();
    }
  };

  const run = async (chatId: string) => {
    const lane = lanes.get(chatId);
    while (lane && lane.length > 0 && !stopped) {
      const entry = lane[0]!;
      let pause = retryMs;
      for (;;) {
        try {
          await handler({ trigger: entry.trigger, redelivered: entry.redelivered });
          break;
        } catch (err) {
          if (stopped) break;
          logger.warn(
            { err, chatId, messageId: entry.trigger.messageId, retryInMs: pause },
            'trigger failed',
          );
          await new Promise((resolve) => setTimeout(resolve, pause));
          pause = Math.min(30_000, pause * 2);
          // The next attempt may find part of the work done: it must check, like a takeover.
          entry.redelivered = true;
          if (stopped) break;
        }
      }
      if (!stopped) {
        await done(entry).catch((err: unknown) =>
          logger.error({ err, chatId, entryId: entry.id }, 'trigger acknowledgement failed'),
        );
      }
      lane.shift();
      settle(entry);
    }
    lanes.delete(chatId);
    if (stopped && lane) for (const entry of lane.splice(0)) settle(entry);
  };

  return {
    push(entry) {
      if (stopped || known.has(entry.id)) return;
      known.add(entry.id);
      count(entry.group, 1);
      const lane = lanes.get(entry.trigger.chatId);
      if (lane) {
        lane.push(entry);
        return;
      }
      lanes.set(entry.trigger.chatId, [entry]);
      void run(entry.trigger.chatId);
    },
    size(group) {
      return group === undefined ? known.size : (groups.get(group) ?? 0);
    },
    drained(boundMs) {
      if (known.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, boundMs);
        idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    stop() {
      stopped = true;
    },
  };
}
