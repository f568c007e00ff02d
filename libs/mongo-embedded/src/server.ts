import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Document } from 'bson';
import type { AuthState, ScramAuthenticator } from './auth/scram';
import type { CommandContext, ServerInfo } from './commands/context';
import { CommandCounters } from './commands/command-counters';
import { CursorRegistry } from './commands/cursors';
import { runCommand } from './commands/dispatch';
import { TransactionRegistry } from './commands/transactions';
import { Store } from './engine/store';
import type { Persistence } from './persistence/persistence';
import { decodeRequest, encodeOpMsg, encodeOpReply, MAX_MESSAGE_SIZE } from './wire/protocol';

function internalError(err: unknown): Document {
  const message = err instanceof Error ? err.message : String(err);
  return { ok: 0, errmsg: message, code: 1, codeName: 'InternalError' };
}

export interface ServerOptions {
  port: number;
  host: string;
  /** Opened persistence (replayed into `store`), or undefined for memory only. */
  persistence?: Persistence;
  store: Store;
  /** How often TTL indexes, idle cursors and stale transactions are swept (MongoDB: 60 s). */
  sweepIntervalMs: number;
  /** When set, connections must authenticate (SCRAM-SHA-256) before anything but the handshake. */
  authenticator?: ScramAuthenticator;
}

/** One client connection: its framing buffer, its authentication, and whether a reply is pending. */
interface Connection {
  readonly id: number;
  readonly socket: Socket;
  readonly auth: AuthState;
  pending: Buffer;
  /** A long read is still running: later messages wait, replies stay in request order. */
  busy: boolean;
}

/** The TCP side: frames messages, runs each command synchronously, writes the reply. */
export class WireServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly cursors = new CursorRegistry();
  private readonly txns: TransactionRegistry;
  private info: ServerInfo | undefined;
  private nextConnectionId = 1;
  private nextResponseId = 1;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** The last few messages that could not be decoded (kept for diagnosis; nothing is logged). */
  readonly protocolErrors: string[] = [];

  constructor(private readonly options: ServerOptions) {
    this.txns = new TransactionRegistry(options.store);
    this.server = createServer((socket) => this.accept(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const port = (this.server.address() as AddressInfo).port;
    this.info = { host: this.options.host, port, startedAt: new Date(), counters: new CommandCounters() };
    this.sweepTimer = setInterval(() => this.sweep(), this.options.sweepIntervalMs);
    this.sweepTimer.unref();
    return port;
  }

  /** Where the server listens (its address shows what it is reachable from). */
  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** TTL deletes, idle cursors, transactions past their lifetime. */
  sweep(now = new Date()): void {
    this.options.store.sweepExpired(now);
    this.cursors.sweep(now.getTime());
    this.txns.sweep(now.getTime());
    this.options.persistence?.flush();
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const conn: Connection = {
      id: this.nextConnectionId++,
      socket,
      auth: { authenticated: this.options.authenticator === undefined },
      pending: Buffer.alloc(0),
      busy: false,
    };
    socket.on('data', (chunk: Buffer) => {
      conn.pending = conn.pending.length === 0 ? chunk : Buffer.concat([conn.pending, chunk]);
      this.drain(conn);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  /** Handles the complete messages buffered on a connection, one at a time, in order. */
  private drain(conn: Connection): void {
    const { socket } = conn;
    while (!conn.busy && conn.pending.length >= 4 && !socket.destroyed) {
      const length = conn.pending.readInt32LE(0);
      if (length < 16 || length > MAX_MESSAGE_SIZE) {
        socket.destroy();
        return;
      }
      if (conn.pending.length < length) break;
      const message = conn.pending.subarray(0, length);
      conn.pending = conn.pending.subarray(length);
      const reply = this.handle(message, conn);
      if (reply === null) {
        socket.destroy();
        return;
      }
      if (reply instanceof Promise) {
        conn.busy = true;
        void reply.then((buf) => {
          conn.busy = false;
          if (socket.destroyed) return;
          if (buf) socket.write(buf);
          this.drain(conn);
        });
        return;
      }
      if (reply) socket.write(reply);
    }
  }

  /**
   * The encoded reply (a promise of it for a long read), undefined when none is expected, null when
   * the connection must close.
   */
  private handle(message: Buffer, conn: Connection): Buffer | undefined | null | Promise<Buffer | undefined> {
    let request: ReturnType<typeof decodeRequest>;
    try {
      request = decodeRequest(message);
    } catch (err) {
      // A message we cannot parse leaves the stream unusable: the connection is closed.
      this.protocolErrors.push(err instanceof Error ? err.message : String(err));
      if (this.protocolErrors.length > 20) this.protocolErrors.shift();
      return null;
    }
    const ctx: CommandContext = {
      store: this.options.store,
      cursors: this.cursors,
      txns: this.txns,
      server: this.info as ServerInfo,
      connectionId: conn.id,
      db: request.db,
      authenticator: this.options.authenticator,
      auth: conn.auth,
    };
    let reply: Document | Promise<Document>;
    try {
      reply = runCommand(request.command, ctx);
    } catch (err) {
      reply = internalError(err);
    } finally {
      // Acknowledged writes reach the journal file before the reply leaves.
      this.options.persistence?.flush();
    }
    const finish = (doc: Document): Buffer | undefined => {
      if (request.noReply) return undefined;
      const responseId = this.nextResponseId++;
      const encode = request.legacy ? encodeOpReply : encodeOpMsg;
      try {
        return encode(doc, responseId, request.header.requestId);
      } catch (err) {
        return encode(internalError(err), responseId, request.header.requestId);
      }
    };
    if (reply instanceof Promise) return reply.catch(internalError).then(finish);
    return finish(reply);
  }
}
