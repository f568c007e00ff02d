import { MongoClient, ObjectId } from 'mongodb';

/** A stored message as the store holds it (the ground truth the fault cases check acks against). */
export interface StoredMessage {
  id: string;
  seq: number;
  senderId: string;
  clientMsgId: string;
  text: string;
}

export interface StoreProbe {
  /** Documents per collection the services write (users, sessions, chats, memberships, messages). */
  counts(): Promise<Record<string, number>>;
  /** Every message of a chat, ascending by seq. */
  messages(chatId: string): Promise<StoredMessage[]>;
  close(): Promise<void>;
}

export const WRITTEN_COLLECTIONS = ['users', 'sessions', 'chats', 'memberships', 'messages'] as const;

/**
 * Reads the cluster's store directly with the official driver: what was really stored, independent of
 * what any service answered.
 */
export async function openStore(mongoUrl: string): Promise<StoreProbe> {
  const client = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 5000, socketTimeoutMS: 30_000 });
  await client.connect();
  const db = client.db();
  return {
    async counts() {
      const entries = await Promise.all(
        WRITTEN_COLLECTIONS.map(
          async (name) => [name, await db.collection(name).countDocuments({})] as const,
        ),
      );
      return Object.fromEntries(entries);
    },
    async messages(chatId) {
      const docs = await db
        .collection('messages')
        .find({ chatId: new ObjectId(chatId) })
        .sort({ seq: 1 })
        .toArray();
      return docs.map((d) => ({
        id: String(d._id),
        seq: Number(d.seq),
        senderId: String(d.senderId),
        clientMsgId: String(d.clientMsgId),
        text: String(d.text),
      }));
    },
    close: () => client.close(),
  };
}
