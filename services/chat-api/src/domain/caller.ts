import type { ForwardedCaller } from '@cohort/common';

/** Who is calling, as the verified forwarding says, with what chat-api needs to call auth on their behalf. */
export interface Caller extends ForwardedCaller {
  userId: string;
  /** The `x-cohort-identity` assertion received, passed along unchanged to auth (CONTRIBUTING.md). */
  assertion: string;
}
