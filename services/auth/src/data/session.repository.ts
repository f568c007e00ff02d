import { Types, type Connection, type Model } from 'mongoose';
import { isObjectIdHex } from './ids';
import { sessionModel, type RevokeReason, type SessionDoc } from './session.schema';

/** How many rotated hashes a session remembers (bounds the document however often a client refreshes). */
export const PREVIOUS_HASHES_KEPT = 200;

export interface SessionRef {
  sessionId: string;
  userId: string;
}

export interface RotatedTokenOwner extends SessionRef {
  /** When the session last rotated, and whether `hash` was the token it rotated away from then. */
  rotatedAt: Date | null;
  wasLastRotated: boolean;
  revoked: boolean;
}

export interface SessionRepository {
  create(input: { userId: string; refreshHash: string; now: Date; expiresAt: Date }): Promise<SessionRef>;
  /**
   * Atomically replaces the live refresh hash `presentedHash` with `nextHash`. Of concurrent calls with
   * the same hash exactly one gets the session; the others get null.
   */
  rotate(input: {
    presentedHash: string;
    nextHash: string;
    now: Date;
  }): Promise<(SessionRef & { expiresAt: Date }) | null>;
  /** The session a rotated-away hash belonged to, if any. */
  findByPreviousHash(hash: string): Promise<RotatedTokenOwner | null>;
  /** The live (not revoked, not expired) session whose current refresh hash is `hash`. */
  findLiveByRefreshHash(hash: string, now: Date): Promise<SessionRef | null>;
  /** Marks the user's session revoked; false when it was not active (unknown, someone else's, or revoked). */
  revoke(input: SessionRef & { now: Date; reason: RevokeReason }): Promise<boolean>;
  ensureIndexes(): Promise<void>;
}

function ref(doc: Pick<SessionDoc, '_id' | 'userId'>): SessionRef {
  return { sessionId: doc._id.toHexString(), userId: doc.userId.toHexString() };
}

export function createSessionRepository(connection: Connection): SessionRepository {
  const Session: Model<SessionDoc> = sessionModel(connection);

  return {
    async create({ userId, refreshHash, now, expiresAt }) {
      const doc = await Session.create({
        userId: new Types.ObjectId(userId),
        refreshHash,
        previousHashes: [],
        createdAt: now,
        rotatedAt: null,
        expiresAt,
        revokedAt: null,
        revokedReason: null,
      });
      return ref(doc);
    },

    async rotate({ presentedHash, nextHash, now }) {
      const doc = await Session.findOneAndUpdate(
        { refreshHash: presentedHash, revokedAt: null, expiresAt: { $gt: now } },
        {
          $set: { refreshHash: nextHash, rotatedAt: now },
          $push: { previousHashes: { $each: [presentedHash], $slice: -PREVIOUS_HASHES_KEPT } },
        },
        { returnDocument: 'after', projection: { _id: 1, userId: 1, expiresAt: 1 } },
      ).lean<Pick<SessionDoc, '_id' | 'userId' | 'expiresAt'>>();
      return doc ? { ...ref(doc), expiresAt: doc.expiresAt } : null;
    },

    async findByPreviousHash(hash) {
      const doc = await Session.findOne(
        { previousHashes: hash },
        { _id: 1, userId: 1, rotatedAt: 1, revokedAt: 1, previousHashes: 1 },
      ).lean<Pick<SessionDoc, '_id' | 'userId' | 'rotatedAt' | 'revokedAt' | 'previousHashes'>>();
      if (!doc) return null;
      return {
        ...ref(doc),
        rotatedAt: doc.rotatedAt,
        wasLastRotated: doc.previousHashes.at(-1) === hash,
        revoked: doc.revokedAt !== null,
      };
    },

    async findLiveByRefreshHash(hash, now) {
      const doc = await Session.findOne(
        { refreshHash: hash, revokedAt: null, expiresAt: { $gt: now } },
        { _id: 1, userId: 1 },
      ).lean<Pick<SessionDoc, '_id' | 'userId'>>();
      return doc ? ref(doc) : null;
    },

    async revoke({ sessionId, userId, now, reason }) {
      if (!isObjectIdHex(sessionId) || !isObjectIdHex(userId)) return false;
      const result = await Session.updateOne(
        { _id: new Types.ObjectId(sessionId), userId: new Types.ObjectId(userId), revokedAt: null },
        { $set: { revokedAt: now, revokedReason: reason } },
      );
      return result.modifiedCount === 1;
    },

    async ensureIndexes() {
      await Session.init();
    },
  };
}
