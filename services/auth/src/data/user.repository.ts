import { Types, type Connection, type Model } from 'mongoose';
import type { FullName, PublicUser } from '@cohort/common';
import { isObjectIdHex } from './ids';
import { userModel, type UserDoc } from './user.schema';

/** What other users may see of someone (search results, member lists). */
export interface UserSummary {
  id: string;
  fullName: FullName;
  email: string;
}

export interface UserCredentials {
  user: PublicUser;
  passwordHash: string;
}

export interface NewUser {
  email: string;
  passwordHash: string;
  fullName: FullName;
}

export interface UserSearch {
  query: string;
  limit: number;
  /** The caller, left out of their own results. */
  excludeUserId: string;
}

export interface UserRepository {
  /** Inserts a user; a duplicate email rejects with the driver's 11000 error. */
  create(input: NewUser, now: Date): Promise<PublicUser>;
  findCredentialsByEmail(email: string): Promise<UserCredentials | null>;
  findById(userId: string): Promise<PublicUser | null>;
  findByIds(userIds: readonly string[]): Promise<UserSummary[]>;
  search(input: UserSearch): Promise<UserSummary[]>;
  /** Waits until the indexes (the unique email index above all) exist. */
  ensureIndexes(): Promise<void>;
  /**
   * Creates a user with a fixed id unless it exists (the assistant, DESIGN §7), with no password: its stored hash is
   * not a bcrypt hash, so no password ever matches it.
   */
  ensurePasswordless(userId: string, input: { email: string; fullName: FullName }, now: Date): Promise<void>;
}

/** The stored "hash" of a user that can never log in (not a bcrypt hash: login treats it as no account). */
export const NO_PASSWORD = '!';

type StoredUser = Pick<UserDoc, '_id' | 'email' | 'fullName' | 'createdAt'>;

const PUBLIC_FIELDS = { _id: 1, email: 1, fullName: 1, createdAt: 1 } as const;

function toPublicUser(doc: StoredUser): PublicUser {
  return {
    id: doc._id.toHexString(),
    email: doc.email,
    fullName: { firstName: doc.fullName.firstName, lastName: doc.fullName.lastName },
    createdAt: doc.createdAt.toISOString(),
  };
}

function toSummary(doc: StoredUser): UserSummary {
  return {
    id: doc._id.toHexString(),
    fullName: { firstName: doc.fullName.firstName, lastName: doc.fullName.lastName },
    email: doc.email,
  };
}

/** Escapes every regex metacharacter so user input only ever matches itself. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function prefix(text: string): RegExp {
  return new RegExp(`^${escapeRegex(text.toLowerCase())}`);
}

export function createUserRepository(connection: Connection): UserRepository {
  const User: Model<UserDoc> = userModel(connection);

  return {
    async create(input, now) {
      const doc = await User.create({
        email: input.email,
        passwordHash: input.passwordHash,
        fullName: input.fullName,
        search: {
          firstName: input.fullName.firstName.toLowerCase(),
          lastName: input.fullName.lastName.toLowerCase(),
        },
        createdAt: now,
      });
      return toPublicUser(doc);
    },

    async ensurePasswordless(userId, input, now) {
      await User.updateOne(
        { _id: new Types.ObjectId(userId) },
        {
          $setOnInsert: {
            email: input.email,
            passwordHash: NO_PASSWORD,
            fullName: input.fullName,
            search: {
              firstName: input.fullName.firstName.toLowerCase(),
              lastName: input.fullName.lastName.toLowerCase(),
            },
            createdAt: now,
          },
        },
        { upsert: true },
      );
    },

    async findCredentialsByEmail(email) {
      const doc = await User.findOne({ email }, { ...PUBLIC_FIELDS, passwordHash: 1 }).lean<
        StoredUser & { passwordHash: string }
      >();
      return doc ? { user: toPublicUser(doc), passwordHash: doc.passwordHash } : null;
    },

    async findById(userId) {
      if (!isObjectIdHex(userId)) return null;
      const doc = await User.findById(userId, PUBLIC_FIELDS).lean<StoredUser>();
      return doc ? toPublicUser(doc) : null;
    },

    async findByIds(userIds) {
      const ids = [...new Set(userIds.filter(isObjectIdHex).map((id) => id.toLowerCase()))];
      if (ids.length === 0) return [];
      const docs = await User.find(
        { _id: { $in: ids.map((id) => new Types.ObjectId(id)) } },
        PUBLIC_FIELDS,
      ).lean<StoredUser[]>();
      const byId = new Map(docs.map((doc) => [doc._id.toHexString(), doc]));
      return ids.flatMap((id) => {
        const doc = byId.get(id);
        return doc ? [toSummary(doc)] : [];
      });
    },

    async search({ query, limit, excludeUserId }) {
      const words = query
        .trim()
        .split(/\s+/)
        .filter((w) => w.length > 0);
      const [first = '', ...rest] = words;
      const alternatives: Record<string, RegExp>[] =
        rest.length === 0
          ? [
              { email: prefix(first) },
              { 'search.firstName': prefix(first) },
              { 'search.lastName': prefix(first) },
            ]
          : [
              // "Ada Love" → first name "ada…" and last name "love…" (or the other way round); also
              // names that themselves contain a space ("Mary Ann").
              { 'search.firstName': prefix(first), 'search.lastName': prefix(rest.join(' ')) },
              { 'search.lastName': prefix(first), 'search.firstName': prefix(rest.join(' ')) },
              { 'search.firstName': prefix(words.join(' ')) },
              { 'search.lastName': prefix(words.join(' ')) },
            ];
      const filter = isObjectIdHex(excludeUserId)
        ? { $or: alternatives, _id: { $ne: new Types.ObjectId(excludeUserId) } }
        : { $or: alternatives };
      const docs = await User.find(filter, PUBLIC_FIELDS)
        .sort({ 'search.lastName': 1, 'search.firstName': 1, email: 1 })
        .limit(limit)
        .lean<StoredUser[]>();
      return docs.map(toSummary);
    },

    async ensureIndexes() {
      await User.init();
    },
  };
}
