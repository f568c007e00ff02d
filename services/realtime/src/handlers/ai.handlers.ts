import {
  AppError,
  aiResumePayloadSchema,
  aiStopPayloadSchema,
  type AiStreamStore,
  type EventBus,
} from '@cohort/common';
import type { EventHandlers } from '../events/event-handler';
import { chatRoom, type RealtimeSocket } from '../socket-types';

export interface AiHandlersDeps {
  /** Where the assistant keeps its streams' deltas (Redis in the cluster): any replica answers a resume. */
  streams: AiStreamStore;
  bus: EventBus;
}

export type AiHandlers = EventHandlers<'ai:resume' | 'ai:stop'>;

const streamNotFound = () => AppError.notFound('No such assistant stream in this chat', 'stream_not_found');
const unavailable = () =>
  new AppError(503, 'unavailable', 'Assistant streams cannot be reached right now: try again');

/**
 * The stream a socket may see: its chat is one the socket's user is in (the socket is in the chat's room, as for
 * presence), and the stream belongs to that chat. Anything else is the same `stream_not_found`: an id of another
 * chat, an expired stream and a made-up id cannot be told apart.
 */
async function readVisible(
  streams: AiStreamStore,
  socket: RealtimeSocket,
  chatId: string,
  streamId: string,
  afterIndex: number,
) {
  if (!socket.rooms.has(chatRoom(chatId))) throw streamNotFound();
  const snapshot = await streams.read(streamId, afterIndex).catch(() => {
    throw unavailable();
  });
  if (!snapshot || snapshot.chatId !== chatId) throw streamNotFound();
  return snapshot;
}

/**
 * `ai:resume`: the deltas of an answer after `afterIndex`, from the shared stream store, so a client that reloaded,
 * lost its network or whose replica died gets the whole answer once (DESIGN §7). `ai:stop`: any member asks the
 * assistant replica generating the answer to stop; the stop travels on the bus (`ai-control`).
 */
export function createAiHandlers({ streams, bus }: AiHandlersDeps): AiHandlers {
  return {
    'ai:resume': {
      payload: aiResumePayloadSchema,
      async handle(socket, { chatId, streamId, afterIndex }, reply) {
        const { deltas, ended } = await readVisible(streams, socket, chatId, streamId, afterIndex);
        reply({ ok: true, deltas, ended });
      },
    },
    'ai:stop': {
      payload: aiStopPayloadSchema,
      async handle(socket, { chatId, streamId }, reply) {
        // Only whether it exists in this chat: no deltas are read (the list position past any answer's end).
        const { ended } = await readVisible(streams, socket, chatId, streamId, Number.MAX_SAFE_INTEGER - 1);
        if (!ended) {
          await bus
            .publish('ai-control', { type: 'ai:stop', chatId, streamId, userId: socket.data.userId })
            .catch(() => {
              throw unavailable();
            });
        }
        reply({ ok: true });
      },
    },
  };
}
