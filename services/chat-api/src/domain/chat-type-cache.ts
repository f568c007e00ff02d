import { LRUCache } from 'lru-cache';
import type { ChatType } from '@cohort/common';
import type { ChatRepository } from '../data/chat.repository';

/**
 * A chat's type never changes once created, so the send path reads it once per chat and process: it decides
 * whether a stored message is a trigger for the assistant (every message of an assistant chat), and whether a
 * send needs the block check (direct chats only). Bounded LRU.
 */
export interface ChatTypeCache {
  /** The chat's type, or null when there is no such chat. */
  get(chatId: string): Promise<ChatType | null>;
  /** The type if this process has read it already, without a store read. */
  peek(chatId: string): ChatType | undefined;
}

export function createChatTypeCache(chats: ChatRepository, max = 100_000): ChatTypeCache {
  const known = new LRUCache<string, ChatType>({ max });
  return {
    async get(chatId) {
      const hit = known.get(chatId);
      if (hit) return hit;
      const chat = await chats.findById(chatId);
      if (!chat) return null;
      known.set(chatId, chat.type);
      return chat.type;
    },
    peek: (chatId) => known.get(chatId),
  };
}
