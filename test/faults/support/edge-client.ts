import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface EdgeAnswer {
  status: number;
  body: unknown;
  /** Request start to the end of the body. */
  ms: number;
}

/**
 * HTTP to the edge (nginx on 127.0.0.1) from a chosen loopback source address, so nginx sees each simulated
 * client at its own address (127.0.0.0/8 is all loopback on Linux) and the per-address login limits apply to
 * each separately, as they would to users on different machines. Keep-alive, like a browser.
 */
export class EdgeClient {
  private readonly agent: Agent;

  constructor(
    private readonly baseUrl: string,
    readonly address: string,
    private readonly token?: string,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 16, localAddress: address });
  }

  /** One request; a timeout or a refused connection is status 0 (never a hang). */
  call(method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<EdgeAnswer> {
    const url = new URL(path, this.baseUrl);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const started = performance.now();
    return new Promise((resolve) => {
      const done = (status: number, parsed: unknown) =>
        resolve({ status, body: parsed, ms: performance.now() - started });
      const req = request(
        {
          agent: this.agent,
          host: url.hostname,
          port: url.port,
          method,
          path: `${url.pathname}${url.search}`,
          headers: {
            ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? (JSON.parse(text) as unknown) : undefined;
            } catch {
              // Not JSON (an nginx error page): kept as text for the report.
            }
            done(res.statusCode ?? 0, parsed);
          });
          res.on('error', () => done(0, 'response error'));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => done(0, err.message));
      if (payload) req.write(payload);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The error code of an answer in the error shape, if any. */
export function errorCode(answer: EdgeAnswer): string | undefined {
  const body = answer.body as { error?: { code?: unknown } } | undefined;
  return typeof body?.error?.code === 'string' ? body.error.code : undefined;
}
