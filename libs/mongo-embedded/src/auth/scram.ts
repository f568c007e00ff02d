import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { saslprep } from '@mongodb-js/saslprep';
import { Binary, type Document } from 'bson';
import { MongoCommandError } from '../engine/errors';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';
/** MongoDB's default scramSHA256IterationCount. */
const ITERATIONS = 15_000;

/** The one user a store accepts (options.auth). */
export interface StoreUser {
  username: string;
  password: string;
  /** The authentication database (`authSource` in a connection string). Default `admin`. */
  db?: string;
}

/** Per-connection authentication state. */
export interface AuthState {
  authenticated: boolean;
  user?: string;
  conversation?: Conversation;
}

interface Conversation {
  id: number;
  db: string;
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
  /** The client asked (saslStart options) to end with the server signature, without an empty round. */
  skipEmptyExchange: boolean;
  proofChecked: boolean;
}

function payloadText(v: unknown): string {
  if (v instanceof Binary) return Buffer.from(v.buffer.subarray(0, v.position)).toString('utf8');
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (typeof v === 'string') return v;
  throw new MongoCommandError(14, "BSON field 'payload' is the wrong type, expected type 'binData'");
}

function payloadBinary(text: string): Binary {
  return new Binary(Buffer.from(text, 'utf8'));
}

/** `a=1,b=2` attributes of a SCRAM message (values may contain '='). */
function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

/** RFC 5802 §5.1: '=2C' and '=3D' in a saslname stand for ',' and '='. */
function decodeSaslName(name: string): string {
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function authFailed(): MongoCommandError {
  return new MongoCommandError(18, 'Authentication failed.');
}

/**
 * SCRAM-SHA-256 (RFC 5802 / RFC 7677) as mongod performs it with the official driver: saslStart
 * (or hello's speculativeAuthenticate) with the client-first message, saslContinue with the client
 * proof, answered with the server signature and `done: true` when the client asks to skip the
 * empty exchange. Only salted keys are kept, never the password.
 */
export class ScramAuthenticator {
  private readonly username: string;
  private readonly db: string;
  private readonly salt: Buffer;
  private readonly storedKey: Buffer;
  private readonly serverKey: Buffer;
  private nextConversation = 1;

  constructor(user: StoreUser) {
    if (!user.username || !user.password) throw new Error('store auth needs a username and a password');
    this.username = user.username;
    this.db = user.db ?? 'admin';
    this.salt = randomBytes(28);
    const salted = pbkdf2Sync(saslprep(user.password), this.salt, ITERATIONS, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    this.storedKey = createHash('sha256').update(clientKey).digest();
    this.serverKey = createHmac('sha256', salted).update('Server Key').digest();
  }

  get database(): string {
    return this.db;
  }

  /** Mechanisms for hello's `saslSupportedMechs: "db.user"` (undefined for an unknown user). */
  mechanismsFor(dbUser: unknown): string[] | undefined {
    return dbUser === `${this.db}.${this.username}` ? [SCRAM_SHA_256] : undefined;
  }

  start(state: AuthState, db: string, cmd: Document): Document {
    if (cmd.mechanism !== SCRAM_SHA_256) {
      throw new MongoCommandError(
        334,
        `Received authentication for mechanism ${String(cmd.mechanism)} which is not enabled`,
      );
    }
    const clientFirst = payloadText(cmd.payload);
    // GS2 header: no channel binding ("n,,"), or supported-but-unused ("y,,"); no authzid.
    const m = /^[ny],,(n=[^,]*,r=[^,]+(?:,.*)?)$/.exec(clientFirst);
    if (!m) throw new MongoCommandError(17, 'Invalid SCRAM client-first message');
    const clientFirstBare = m[1] as string;
    const attrs = attributes(clientFirstBare);
    const user = decodeSaslName(attrs.get('n') ?? '');
    const clientNonce = attrs.get('r') ?? '';
    if (db !== this.db || user !== this.username) throw authFailed();
    const nonce = clientNonce + randomBytes(24).toString('base64');
    const serverFirst = `r=${nonce},s=${this.salt.toString('base64')},i=${ITERATIONS}`;
    const id = this.nextConversation++;
    const skipEmptyExchange = (cmd.options as Document | undefined)?.skipEmptyExchange === true;
    state.conversation = {
      id,
      db,
      clientFirstBare,
      serverFirst,
      nonce,
      skipEmptyExchange,
      proofChecked: false,
    };
    return { conversationId: id, done: false, payload: payloadBinary(serverFirst), ok: 1 };
  }

  continue(state: AuthState, cmd: Document): Document {
    const conv = state.conversation;
    if (!conv || Number(cmd.conversationId) !== conv.id) {
      state.conversation = undefined;
      throw new MongoCommandError(17, 'No SASL session state found');
    }
    if (conv.proofChecked) {
      // The empty final exchange of a client that did not ask to skip it.
      state.conversation = undefined;
      return { conversationId: conv.id, done: true, payload: payloadBinary(''), ok: 1 };
    }
    const clientFinal = payloadText(cmd.payload);
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0) throw this.fail(state);
    const withoutProof = clientFinal.slice(0, proofAt);
    const attrs = attributes(withoutProof);
    if (attrs.get('c') !== 'biws' && attrs.get('c') !== 'eSws') throw this.fail(state);
    if (attrs.get('r') !== conv.nonce) throw this.fail(state);
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
    const authMessage = `${conv.clientFirstBare},${conv.serverFirst},${withoutProof}`;
    const clientSignature = createHmac('sha256', this.storedKey).update(authMessage).digest();
    if (proof.length !== clientSignature.length) throw this.fail(state);
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++)
      clientKey[i] = (proof[i] as number) ^ (clientSignature[i] as number);
    const derived = createHash('sha256').update(clientKey).digest();
    if (!timingSafeEqual(derived, this.storedKey)) throw this.fail(state);
    state.authenticated = true;
    state.user = this.username;
    const serverSignature = createHmac('sha256', this.serverKey).update(authMessage).digest('base64');
    const done = conv.skipEmptyExchange;
    if (done) state.conversation = undefined;
    else conv.proofChecked = true;
    return { conversationId: conv.id, done, payload: payloadBinary(`v=${serverSignature}`), ok: 1 };
  }

  private fail(state: AuthState): MongoCommandError {
    state.conversation = undefined;
    return authFailed();
  }
}
