import { api } from '../api';
import type { UserInfo } from '../contract';
import type { ChatStore } from './chat-store';

const BATCH_DELAY_MS = 20;
const BATCH_SIZE = 50;

/** Names for the people on screen: fetched once per id, batched, and kept in the store. */
export class UserDirectory {
  private readonly requested = new Set<string>();
  private readonly queued = new Set<string>();
  private timer: number | null = null;

  constructor(private readonly store: ChatStore) {}

  stop(): void {
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Fetches names for user ids we have not seen, batched into one request every few milliseconds. */
  ensure(ids: readonly string[]): void {
    const known = this.store.getState().users;
    for (const id of ids) {
      if (!id || known[id] || this.requested.has(id)) continue;
      this.requested.add(id);
      this.queued.add(id);
    }
    if (this.queued.size === 0 || this.timer !== null) return;
    this.timer = window.setTimeout(() => {
      this.timer = null;
      const batch = [...this.queued];
      this.queued.clear();
      for (let i = 0; i < batch.length; i += BATCH_SIZE) {
        const slice = batch.slice(i, i + BATCH_SIZE);
        api.usersByIds(slice).then(
          (users) => this.store.dispatch({ type: 'users/loaded', users }),
          (err: unknown) => {
            for (const id of slice) this.requested.delete(id);
            console.warn('could not load users', err);
          },
        );
      }
    }, BATCH_DELAY_MS);
  }

  async search(q: string): Promise<UserInfo[]> {
    const users = await api.searchUsers(q);
    this.store.dispatch({ type: 'users/loaded', users });
    return users;
  }
}
