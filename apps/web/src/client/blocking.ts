import { api } from '../api';
import type { ChatStore } from './chat-store';
import type { UserDirectory } from './user-directory';

/**
 * The people I blocked (docs/security.md): they can no longer message me, add me to groups, or see my typing and
 * presence. The list is paged by the server; names come from the user directory like everyone else's.
 */
export class Blocking {
  private loading: Promise<void> | null = null;

  constructor(
    private readonly store: ChatStore,
    private readonly users: UserDirectory,
  ) {}

  /** The first page again (`more`: the next page after the ones held); single-flight. */
  load(more = false): Promise<void> {
    const { blockedCursor, blockedLoaded } = this.store.getState();
    if (more && (!blockedLoaded || blockedCursor === null)) return Promise.resolve();
    this.loading ??= (async () => {
      try {
        const page = await api.listBlocked(more ? blockedCursor : null);
        this.store.dispatch({
          type: 'blocked/loaded',
          users: page.users,
          nextCursor: page.nextCursor,
          first: !more,
        });
        this.users.ensure(page.users.map((u) => u.id));
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  async block(userId: string): Promise<void> {
    await api.blockUser(userId);
    this.store.dispatch({ type: 'blocked/changed', userId, blockedAt: new Date().toISOString() });
  }

  async unblock(userId: string): Promise<void> {
    await api.unblockUser(userId);
    this.store.dispatch({ type: 'blocked/changed', userId, blockedAt: null });
  }
}
