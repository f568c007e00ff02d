import { Counter, type Registry } from 'prom-client';
import {
  ASSISTANT_USER_ID,
  callsAssistant,
  type ChatType,
  type Logger,
  type Message,
  type TriggerLogWriter,
} from '@cohort/common';

/**
 * Hands the assistant the messages it may have to answer (DESIGN §7), on the trigger log
 * (libs/common/src/assistant/trigger-log.ts): every message of an assistant chat, and the group messages that call
 * it (its id in `mentions`, or `@cohortgpt` in the text). Never the assistant's own messages. Like the chat-event
 * publisher it runs in the sequencer's lane right after the insert, so a chat's triggers leave in seq order on one
 * connection; a failure is logged and counted, never turned into a failed send (the message is stored).
 */
export interface AssistantTriggers {
  afterStored(chatType: ChatType | null, message: Message): void;
  flush(): Promise<void>;
}

export function isAssistantTrigger(chatType: ChatType | null, message: Message): boolean {
  if (message.senderId === ASSISTANT_USER_ID) return false;
  if (chatType === 'assistant') return true;
  return chatType === 'group' && callsAssistant(message);
}

export function createAssistantTriggers(
  log: TriggerLogWriter | undefined,
  logger: Logger,
  registry?: Registry,
): AssistantTriggers {
  const registers = registry ? [registry] : [];
  const appended = new Counter({
    name: 'assistant_triggers_appended_total',
    help: 'Messages handed to the assistant on the trigger log',
    registers,
  });
  const failed = new Counter({
    name: 'assistant_trigger_append_failures_total',
    help: 'Trigger log appends that failed (the message is stored; the assistant does not answer it)',
    registers,
  });
  const inFlight = new Set<Promise<void>>();
  return {
    afterStored(chatType, message) {
      if (!log || !isAssistantTrigger(chatType, message)) return;
      appended.inc();
      const pending = log
        .append({
          chatId: message.chatId,
          messageId: message.id,
          seq: message.seq,
          senderId: message.senderId,
        })
        .catch((err: unknown) => {
          failed.inc();
          logger.error({ err, chatId: message.chatId, seq: message.seq }, 'assistant trigger append failed');
        });
      inFlight.add(pending);
      void pending.finally(() => inFlight.delete(pending));
    },
    async flush() {
      await Promise.all([...inFlight]);
    },
  };
}
