import { createContext, useContext } from 'react';
import { useStore } from '../lib/store';
import type { ChatState } from '../state/store';
import type { ChatController } from './controller';

export const ControllerContext = createContext<ChatController | null>(null);

export function useController(): ChatController {
  const controller = useContext(ControllerContext);
  if (!controller) throw new Error('useController outside <ControllerContext>');
  return controller;
}

/** Subscribes to one slice of the chat state; the selector must return existing objects, not new ones. */
export function useChatState<T>(select: (state: ChatState) => T): T {
  return useStore(useController().store, select);
}
