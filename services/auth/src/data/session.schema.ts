import { Schema, type Connection, type Model, type Types } from 'mongoose';

export type RevokeReason = 'logout' | 'refresh_reuse';

/** A login: the refresh token that continues it (as a SHA-256 hash only) and the hashes it replaced. */
export interface SessionDoc {
  _id: Types.ObjectId;
  userId: Types.ObjectId;
  refreshHash: string;
  /** Hashes of refresh tokens already rotated away (most recent last): presenting one is reuse. */
  previousHashes: string[];
  createdAt: Date;
  rotatedAt: Date | null;
  /** Absolute end of the session; MongoDB deletes it afterwards. */
  expiresAt: Date;
  revokedAt: Date | null;
  revokedReason: RevokeReason | null;
}

const sessionSchema = new Schema<SessionDoc>(
  {
    userId: { type: Schema.Types.ObjectId, required: true },
    refreshHash: { type: String, required: true },
    previousHashes: { type: [String], default: [] },
    createdAt: { type: Date, required: true },
    rotatedAt: { type: Date, default: null },
    expiresAt: { type: Date, required: true },
    revokedAt: { type: Date, default: null },
    revokedReason: { type: String, enum: ['logout', 'refresh_reuse', null], default: null },
  },
  { collection: 'sessions', versionKey: false, strict: 'throw' },
);

// Refresh: the atomic findOneAndUpdate on the presented token's hash (unique: one session per token).
sessionSchema.index({ refreshHash: 1 }, { unique: true });
// Reuse detection: which session did this already-rotated token belong to?
sessionSchema.index({ previousHashes: 1 });
// TTL: MongoDB removes sessions once their absolute lifetime is over.
sessionSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

/** The Session model on `connection` (registered once per connection). */
export function sessionModel(connection: Connection): Model<SessionDoc> {
  return (
    (connection.models.Session as Model<SessionDoc> | undefined) ??
    connection.model<SessionDoc>('Session', sessionSchema)
  );
}
