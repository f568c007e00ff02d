import { createLogger, type Logger } from '../logger';
import { createChatLanes, type ChatLanes, type LaneEntry, type TriggerConsumer } from './chat-lanes';
import type { AssistantTrigger, TriggerLogWriter } from './trigger-log';

export type MemoryTriggerLog = TriggerLogWriter & TriggerConsumer;

/**
 * The trigger log of one process (embedded mode): chat-api appends, the assistant consumes, same per-chat order and
 * retry semantics as the Redis log. Triggers appended before the consumer starts wait for it; nothing survives the
 * process (neither do the embedded chats' pending answers).
 */
export function createMemoryTriggerLog(logger?: Logger): MemoryTriggerLog {
  const log = logger ?? createLogger({ service: 'assistant-triggers', level: 'warn' });
  const waiting: LaneEntry[] = [];
  let lanes: ChatLanes | undefined;
  let next = 0;
  let closed = false;
  return {
    async append(trigger: AssistantTrigger) {
      if (closed) return;
      const entry: LaneEntry = { id: String(next++), group: 'memory', trigger, redelivered: false };
      if (lanes) lanes.push(entry);
      else waiting.push(entry);
    },
    async start(handler) {
      if (lanes) throw new Error('the trigger log already has a consumer');
      lanes = createChatLanes({ handler, done: async () => undefined, logger: log });
      for (const entry of waiting.splice(0)) lanes.push(entry);
    },
    async close() {
      closed = true;
      if (!lanes) return;
      await lanes.drained(5_000);
      lanes.stop();
    },
  };
}
