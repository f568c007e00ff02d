import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';

export interface TcpBalancer {
  readonly url: string;
  /** Connections currently open, by backend port. */
  connectionsTo(port: number): number;
  close(): Promise<void>;
}

/**
 * A minimal stand-in for the edge (nginx) in front of several replicas: each TCP connection goes to the next
 * backend in turn, skipping backends that refuse, so a client whose replica died reconnects to a live one.
 * With the websocket transport a Socket.IO session is one TCP connection, so no stickiness is needed.
 */
export async function startTcpBalancer(backendPorts: readonly number[]): Promise<TcpBalancer> {
  let next = 0;
  const open = new Map<number, Set<Socket>>();
  const all = new Set<Socket>();

  const tryBackend = (downstream: Socket, attemptsLeft: number) => {
    if (attemptsLeft === 0 || downstream.destroyed) {
      downstream.destroy();
      return;
    }
    const port = backendPorts[next++ % backendPorts.length]!;
    const upstream = tcpConnect({ port, host: '127.0.0.1' });
    let connected = false;
    upstream.once('error', () => {
      if (connected) downstream.destroy();
      else tryBackend(downstream, attemptsLeft - 1);
    });
    upstream.once('connect', () => {
      connected = true;
      let set = open.get(port);
      if (!set) open.set(port, (set = new Set()));
      set.add(upstream);
      all.add(upstream);
      upstream.once('close', () => {
        set.delete(upstream);
        all.delete(upstream);
        downstream.destroy();
      });
      downstream.once('close', () => upstream.destroy());
      upstream.on('error', () => undefined);
      downstream.pipe(upstream);
      upstream.pipe(downstream);
      downstream.resume();
    });
  };

  const server: Server = createServer({ pauseOnConnect: true }, (downstream) => {
    all.add(downstream);
    downstream.once('close', () => all.delete(downstream));
    downstream.on('error', () => downstream.destroy());
    tryBackend(downstream, backendPorts.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    connectionsTo: (backend) => open.get(backend)?.size ?? 0,
    async close() {
      for (const s of all) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
