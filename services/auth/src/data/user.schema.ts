import { Schema, type Connection, type Model, type Types } from 'mongoose';

export interface UserDoc {
  _id: Types.ObjectId;
  /** Trimmed and lower-cased before it gets here, so the unique index is case-insensitive. */
  email: string;
  passwordHash: string;
  fullName: { firstName: string; lastName: string };
  /** Lower-cased names: prefix search uses an anchored, case-sensitive regex, which an index can serve. */
  search: { firstName: string; lastName: string };
  createdAt: Date;
}

const userSchema = new Schema<UserDoc>(
  {
    email: { type: String, required: true },
    passwordHash: { type: String, required: true },
    fullName: {
      firstName: { type: String, required: true },
      lastName: { type: String, required: true },
    },
    search: {
      firstName: { type: String, required: true },
      lastName: { type: String, required: true },
    },
    createdAt: { type: Date, required: true },
  },
  { collection: 'users', versionKey: false, strict: 'throw' },
);

// Login by email, uniqueness on register (11000 → 409), and `^prefix` search on email.
userSchema.index({ email: 1 }, { unique: true });
// `^prefix` search on first name (and "first last" searches).
userSchema.index({ 'search.firstName': 1 });
// `^prefix` search on last name.
userSchema.index({ 'search.lastName': 1 });

/** The User model on `connection` (registered once per connection). */
export function userModel(connection: Connection): Model<UserDoc> {
  return (
    (connection.models.User as Model<UserDoc> | undefined) ?? connection.model<UserDoc>('User', userSchema)
  );
}
