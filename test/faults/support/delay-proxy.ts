import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy that delays every chunk in both directions by an adjustable latency (order preserved), or holds
 * everything while `hold` is on: a slow or stalled store between chat-api and MongoDB, without touching either.
 */
export interface DelayProxy {
  readonly port: number;
  /** Added one-way latency in ms for chunks that arrive from now on. */
  setDelay(ms: number): void;
  /** Connections currently open through the proxy. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startDelayProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<DelayProxy> {
  let delayMs = 0;
  const open = new Set<Socket>();

  /** Forwards `from` → `to`, each chunk released no earlier than its arrival + delay, never out of order. */
  const pipeDelayed = (from: Socket, to: Socket) => {
    let releaseAfter = 0;
    from.on('data', (chunk: Buffer) => {
      const due = Math.max(Date.now() + delayMs, releaseAfter);
      releaseAfter = due;
      const wait = due - Date.now();
      if (wait <= 0 && delayMs === 0) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, wait);
    });
    from.on('end', () => {
      const wait = Math.max(0, releaseAfter - Date.now());
      setTimeout(() => to.end(), wait);
    });
  };

  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    pipeDelayed(client, upstream);
    pipeDelayed(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');

  return {
    port: address.port,
    setDelay(ms) {
      delayMs = ms;
    },
    get connections() {
      return open.size / 2;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
