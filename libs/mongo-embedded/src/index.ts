/**
 * Public API of the embedded MongoDB-compatible store (DESIGN.md §6).
 * The implementation is being built in this package (issue 3); this file fixes the contract others code against.
 */
export interface EmbeddedMongoOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Directory for durable data; in-memory only when absent. */
  dataDir?: string;
}

export interface EmbeddedMongo {
  /** `mongodb://127.0.0.1:PORT` (no database path; append `/dbname`). */
  readonly uri: string;
  readonly port: number;
  close(): Promise<void>;
}

export declare function startEmbeddedMongo(options?: EmbeddedMongoOptions): Promise<EmbeddedMongo>;
