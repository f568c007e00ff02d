import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How the fake answers one Chat Completions request. Every field is optional. */
export interface FakeScript {
  /** The answer (default: "Hello from the fake model."), or a function of the request body. */
  text?: string | ((body: ChatCompletionBody) => string);
  /** Characters per chunk; default: one word (with its following space) per chunk. */
  chunkChars?: number;
  /** Pause between chunks (the token rate). */
  chunkDelayMs?: number;
  /**
   * The content of streamed chunk `index` (from 0), computed when that chunk is written (for example the time it
   * leaves, for a benchmark); `piece` is what `text` would have sent. The pieces of `text` still decide how many
   * chunks there are. Non-streaming answers are unaffected.
   */
  chunkText?: (index: number, piece: string) => string;
  /** Answer 429 (with Retry-After: `retryAfterSeconds`) to this many requests before serving. */
  rateLimited?: number;
  retryAfterSeconds?: number;
  /** Answer 500 to this many requests before serving. */
  serverErrors?: number;
  /** After the headers, wait this long before the first chunk. */
  stallBeforeFirstMs?: number;
  /** After this many chunks, wait `stallMs` (a stall mid-stream). */
  stallAfterChunks?: number;
  stallMs?: number;
  /** After this many chunks, destroy the connection (no [DONE]). */
  closeAfterChunks?: number;
  /** Leave the usage chunk out even when stream_options.include_usage asks for it. */
  omitUsage?: boolean;
}

export interface ChatCompletionBody {
  model?: string;
  messages?: { role: string; content: string }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  [key: string]: unknown;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  at: number;
}

export interface OpenAiFake {
  /** Base URL to configure (`http://127.0.0.1:PORT/v1`). */
  readonly baseUrl: string;
  /** Every request received, in order, with its parsed JSON body. */
  readonly requests: RecordedRequest[];
  /** Bodies of the Chat Completions requests only. */
  completions(): ChatCompletionBody[];
  /** The script for every request from now on (merged over the defaults). */
  setScript(script: FakeScript): void;
  /** Scripts for the next requests, one each, before falling back to the standing script. */
  enqueue(...scripts: FakeScript[]): void;
  /** Chunks with content sent so far, over all requests (to act mid-answer). */
  chunksSent(): number;
  /** Resolves once `predicate` holds (polled every 10 ms), or rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Counters of the scripted failures already served for the standing script. */
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_TEXT = 'Hello from the fake model.';
const MODEL = 'fake-model';

function splitChunks(text: string, chunkChars?: number): string[] {
  if (chunkChars && chunkChars > 0) {
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += chunkChars) chunks.push(text.slice(i, i + chunkChars));
    return chunks;
  }
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** A deterministic embedding: hashed bag of words, 64 dimensions, so related texts point the same way. */
function fakeEmbedding(text: string): number[] {
  const vector = new Array<number>(64).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    let hash = 2166136261;
    for (let i = 0; i < word.length; i++) hash = Math.imul(hash ^ word.charCodeAt(i), 16777619) >>> 0;
    vector[hash % 64]! += 1;
  }
  return vector;
}

const approxTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

/**
 * A local OpenAI-compatible server for tests and benchmarks: Chat Completions (streaming as SSE `data:` chunks ending
 * with `data: [DONE]`, a usage chunk when `stream_options.include_usage`, and non-streaming), `/v1/models` and
 * `/v1/embeddings`. Scriptable per test (text, token rate, 429 with Retry-After, 500s, stalls, a dropped
 * connection) and it records every request body, so tests assert what the product sent.
 */
export async function startOpenAiFake(initial: FakeScript = {}): Promise<OpenAiFake> {
  let standing: FakeScript = { ...initial };
  const queue: FakeScript[] = [];
  const requests: RecordedRequest[] = [];
  let rateLimitedServed = 0;
  let serverErrorsServed = 0;
  let chunks = 0;
  const sockets = new Set<Socket>();

  const readBody = (req: IncomingMessage) =>
    new Promise<unknown>((resolve) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (part: string) => (raw += part));
      req.on('end', () => {
        try {
          resolve(raw ? (JSON.parse(raw) as unknown) : undefined);
        } catch {
          resolve(raw);
        }
      });
    });

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const sleep = (ms: number, res: ServerResponse) =>
    new Promise<boolean>((resolve) => {
      if (ms <= 0) return resolve(!res.destroyed);
      const onClose = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        res.off('close', onClose);
        resolve(!res.destroyed);
      }, ms);
      res.once('close', onClose);
    });

  async function completions(req: IncomingMessage, res: ServerResponse, body: ChatCompletionBody) {
    const queued = queue.shift();
    const script = queued ?? standing;
    // Scripted failures: a queued script fails its own request; the standing one counts them across requests.
    if (queued ? (script.rateLimited ?? 0) > 0 : rateLimitedServed < (script.rateLimited ?? 0)) {
      if (!queued) rateLimitedServed++;
      return json(
        res,
        429,
        { error: { message: 'Rate limit reached', type: 'rate_limit_error', code: 'rate_limit_exceeded' } },
        { 'retry-after': String(script.retryAfterSeconds ?? 1) },
      );
    }
    if (queued ? (script.serverErrors ?? 0) > 0 : serverErrorsServed < (script.serverErrors ?? 0)) {
      if (!queued) serverErrorsServed++;
      return json(res, 500, { error: { message: 'The server had an error', type: 'server_error' } });
    }
    const text = typeof script.text === 'function' ? script.text(body) : (script.text ?? DEFAULT_TEXT);
    const promptTokens = approxTokens((body.messages ?? []).map((m) => m.content).join('\n'));
    const pieces = splitChunks(text, script.chunkChars);
    const id = `chatcmpl-fake-${requests.length}`;
    const created = Math.floor(Date.now() / 1000);
    const model = body.model ?? MODEL;

    if (!body.stream) {
      return json(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: pieces.length,
          total_tokens: promptTokens + pieces.length,
        },
      });
    }

    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    const send = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    if (!(await sleep(script.stallBeforeFirstMs ?? 0, res))) return;
    send(chunk({ role: 'assistant', content: '' }, null));
    let sent = 0;
    for (const piece of pieces) {
      if (script.closeAfterChunks !== undefined && sent >= script.closeAfterChunks) {
        // Let what was written reach the client, then drop the connection without [DONE].
        await new Promise<void>((resolve) => res.write('', () => resolve()));
        await new Promise((resolve) => setTimeout(resolve, 20));
        req.socket.destroy();
        return;
      }
      if (script.stallAfterChunks !== undefined && sent === script.stallAfterChunks) {
        if (!(await sleep(script.stallMs ?? 60_000, res))) return;
      }
      if (sent > 0 && !(await sleep(script.chunkDelayMs ?? 0, res))) return;
      send(chunk({ content: script.chunkText ? script.chunkText(sent, piece) : piece }, null));
      sent++;
      chunks++;
    }
    send(chunk({}, 'stop'));
    if (body.stream_options?.include_usage && !script.omitUsage) {
      send({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [],
        usage: { prompt_tokens: promptTokens, completion_tokens: sent, total_tokens: promptTokens + sent },
      });
    }
    res.write('data: [DONE]\n\n');
    res.end();
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body, at: Date.now() });
      if (req.method === 'POST' && path === '/v1/chat/completions') {
        const parsed = (typeof body === 'object' && body !== null ? body : {}) as ChatCompletionBody;
        return completions(req, res, parsed);
      }
      if (req.method === 'GET' && path === '/v1/models') {
        return json(res, 200, {
          object: 'list',
          data: [{ id: MODEL, object: 'model', created: 0, owned_by: 'fake' }],
        });
      }
      if (req.method === 'POST' && path === '/v1/embeddings') {
        const input = (body as { input?: unknown } | undefined)?.input;
        const texts = Array.isArray(input) ? input.map(String) : [String(input ?? '')];
        return json(res, 200, {
          object: 'list',
          model: (body as { model?: string } | undefined)?.model ?? 'fake-embedding',
          data: texts.map((text, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(text) })),
          usage: { prompt_tokens: texts.length, total_tokens: texts.length },
        });
      }
      return json(res, 404, { error: { message: `Unknown path ${path}`, type: 'invalid_request_error' } });
    })();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    completions: () =>
      requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.body as ChatCompletionBody),
    setScript(script) {
      standing = { ...script };
      rateLimitedServed = 0;
      serverErrorsServed = 0;
    },
    enqueue(...scripts) {
      queue.push(...scripts);
    },
    chunksSent: () => chunks,
    async waitFor(predicate, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > until) throw new Error('openai-fake: condition not met in time');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    reset() {
      rateLimitedServed = 0;
      serverErrorsServed = 0;
      queue.length = 0;
      requests.length = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
