import { MongoCommandError } from './errors';

/** Documents (or index keys) examined between two looks at the clock. */
export const CHECK_EVERY = 256;

/** How long a read runs before it lets other connections' commands in (see README: isolation). */
export const TIME_SLICE_MS = 2;

/** MongoDB's limit for `maxTimeMS` (a 32-bit signed integer of milliseconds). */
const MAX_TIME_MS_LIMIT = 2_147_483_647;

/**
 * A command's time limit (`maxTimeMS`): checked cooperatively at interrupt points inside scans and
 * between stages, as MongoDB does, and reported as code 50 MaxTimeMSExpired.
 */
export class Deadline {
  private constructor(readonly at: number | undefined) {}

  static readonly NONE = new Deadline(undefined);

  /** The deadline a command's `maxTimeMS` sets from now (absent or 0: none). */
  static fromCommand(cmd: { maxTimeMS?: unknown }, now = Date.now()): Deadline {
    const raw = cmd.maxTimeMS;
    if (raw === undefined || raw === null) return Deadline.NONE;
    const ms = Number(raw);
    if (!Number.isInteger(ms)) {
      throw new MongoCommandError(2, `maxTimeMS must be an integer, got ${String(raw)}`);
    }
    if (ms < 0 || ms > MAX_TIME_MS_LIMIT) {
      throw new MongoCommandError(
        51024,
        `BSON field 'maxTimeMS' value must be >= 0 and <= ${MAX_TIME_MS_LIMIT}, actual value '${ms}'`,
      );
    }
    return ms === 0 ? Deadline.NONE : new Deadline(now + ms);
  }

  get bounded(): boolean {
    return this.at !== undefined;
  }

  /** Throws MaxTimeMSExpired once the limit has passed. */
  check(now = Date.now()): void {
    if (this.at !== undefined && now >= this.at) throw maxTimeExpired();
  }
}

export function maxTimeExpired(): MongoCommandError {
  return new MongoCommandError(50, 'operation exceeded time limit');
}
