/**
 * Who must not see whose typing and presence (docs/security.md "Blocking"): for each user with a socket on this
 * replica AND at least one block partner (someone they blocked or who blocked them), those partners. Most users
 * have none and cost nothing here. Filled at the handshake from chat-api's memberships answer, kept current by
 * the bus's `users:block` events, and dropped with the user's last local socket.
 */
export class BlockPartners {
  private readonly partners = new Map<string, Set<string>>();

  /** The handshake's answer for `userId` (replaces what was known: it is the newer of the two). */
  set(userId: string, partnerIds: readonly string[]): void {
    if (partnerIds.length === 0) this.partners.delete(userId);
    else this.partners.set(userId, new Set(partnerIds));
  }

  /** A block relation between `userId` and `partnerId` began (`blocked`) or ended. */
  update(userId: string, partnerId: string, blocked: boolean): void {
    const known = this.partners.get(userId);
    if (blocked) {
      if (known) known.add(partnerId);
      else this.partners.set(userId, new Set([partnerId]));
    } else if (known?.delete(partnerId) && known.size === 0) {
      this.partners.delete(userId);
    }
  }

  /** `userId`'s last socket here is gone. */
  forget(userId: string): void {
    this.partners.delete(userId);
  }

  of(userId: string): ReadonlySet<string> {
    return this.partners.get(userId) ?? NONE;
  }

  /** Users with an entry (tests, metrics). */
  get size(): number {
    return this.partners.size;
  }
}

const NONE: ReadonlySet<string> = new Set();
