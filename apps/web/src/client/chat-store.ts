import type { PublicUser } from '../contract';
import { createStore, type Store } from '../lib/store';
import { initialState, reducer, type Action, type ChatState } from '../state/store';

/** The one store the client's parts write to and the components read from. */
export type ChatStore = Store<ChatState, Action>;

/** A fresh store for this person, who is known by name from the start. */
export function createChatStore(me: PublicUser): ChatStore {
  const store = createStore(reducer, initialState(me.id));
  store.dispatch({
    type: 'users/loaded',
    users: [{ id: me.id, email: me.email, fullName: me.fullName }],
  });
  return store;
}
