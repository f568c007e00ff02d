import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';

export interface HoldingProxy {
  /** `http://127.0.0.1:<port>`: use in place of the upstream's URL. */
  readonly url: string;
  /** From now on, bytes sent towards the upstream are kept back (requests reach it only on `release`). */
  hold(): void;
  /** Forwards what was kept back, in order, and forwards at once from now on. */
  release(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of a real upstream (chat-api) that can hold the requests sent through it: calls made while
 * it holds stay unanswered until `release`, so a test can keep handshakes in progress for as long as it needs,
 * whatever the machine's speed.
 */
export async function startHoldingProxy(upstreamUrl: string): Promise<HoldingProxy> {
  const target = new URL(upstreamUrl);
  let holding = false;
  const kept: Array<{ upstream: Socket; chunk: Buffer }> = [];
  const all = new Set<Socket>();

  const server: Server = createServer((downstream) => {
    const upstream = tcpConnect({ port: Number(target.port), host: target.hostname });
    for (const s of [downstream, upstream]) {
      all.add(s);
      s.once('close', () => all.delete(s));
      s.on('error', () => s.destroy());
    }
    downstream.once('close', () => upstream.destroy());
    upstream.once('close', () => downstream.destroy());
    downstream.on('data', (chunk: Buffer) => {
      if (holding) kept.push({ upstream, chunk });
      else upstream.write(chunk);
    });
    upstream.pipe(downstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const { upstream, chunk } of kept.splice(0)) if (!upstream.destroyed) upstream.write(chunk);
    },
    async close() {
      for (const s of all) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
