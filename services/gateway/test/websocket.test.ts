import { createServer, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { IDENTITY_HEADER } from '@cohort/common';
import { generateTestKeys } from '@cohort/testkit';
import { startProbe, startTestGateway, type Probe, type TestGateway } from './support';

/**
 * Websocket upgrades through the gateway in embedded mode. The upstream here is a bare Socket.IO server
 * (a probe that echoes and records handshake headers); the full realtime service behind the gateway is
 * exercised in full-stack.test.ts.
 */
describe('gateway: /socket.io in embedded mode', () => {
  let auth: Probe;
  let chatApi: Probe;
  let httpServer: HttpServer;
  let ioServer: Server;
  let gateway: TestGateway;
  const handshakes: IncomingHttpHeaders[] = [];
  const clients: Socket[] = [];

  beforeAll(async () => {
    const keys = await generateTestKeys();
    [auth, chatApi] = await Promise.all([startProbe(), startProbe()]);
    httpServer = createServer();
    ioServer = new Server(httpServer);
    ioServer.on('connection', (socket) => {
      handshakes.push(socket.handshake.headers);
      socket.on('echo', (payload: unknown, ack: (reply: unknown) => void) =>
        ack({ ok: true, payload, transport: socket.conn.transport.name }),
      );
      socket.on('ping-me', () => socket.emit('pong', { at: 'server' }));
    });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const { port } = httpServer.address() as AddressInfo;
    gateway = await startTestGateway({
      keys,
      authUrl: auth.url,
      chatApiUrl: chatApi.url,
      realtimeUrl: `http://127.0.0.1:${port}`,
    });
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await gateway.close();
    await new Promise<void>((resolve) => ioServer.close(() => resolve()));
    await Promise.all([auth.close(), chatApi.close()]);
  });

  const open = (options: Parameters<typeof connect>[1]): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = connect(gateway.url, { reconnection: false, timeout: 5000, ...options });
      clients.push(socket);
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });

  it('carries a websocket-only connection through the upgrade, both ways', async () => {
    const socket = await open({ transports: ['websocket'], extraHeaders: { 'x-request-id': 'ws-req-1' } });
    const reply = await socket.timeout(3000).emitWithAck('echo', { n: 1 });
    expect(reply).toEqual({ ok: true, payload: { n: 1 }, transport: 'websocket' });
    const pong = new Promise((resolve) => socket.once('pong', resolve));
    socket.emit('ping-me');
    await expect(pong).resolves.toEqual({ at: 'server' });
  });

  it('carries long-polling and its upgrade to websocket (the default client)', async () => {
    const socket = await open({});
    await new Promise<void>((resolve) => {
      if (socket.io.engine.transport.name === 'websocket') resolve();
      else socket.io.engine.once('upgrade', () => resolve());
    });
    const reply = await socket.timeout(3000).emitWithAck('echo', 'hi');
    expect(reply).toMatchObject({ ok: true, payload: 'hi', transport: 'websocket' });
  });

  it('strips client-sent identity headers from the handshake and forwards the request id', async () => {
    handshakes.length = 0;
    await open({
      transports: ['websocket'],
      extraHeaders: {
        'x-user-id': 'spoofed',
        'x-cohort-identity': 'forged',
        'x-internal-call': '1',
        'x-request-id': 'ws-req-2',
      },
    });
    const headers = handshakes[0] ?? {};
    expect(headers['x-user-id']).toBeUndefined();
    expect(headers[IDENTITY_HEADER]).toBeUndefined();
    expect(headers['x-internal-call']).toBeUndefined();
    expect(headers['x-request-id']).toBe('ws-req-2');
    expect(headers['x-forwarded-proto']).toBe('http');
  });

  it('refuses a websocket handshake from a foreign Origin (cross-site websocket hijacking)', async () => {
    await expect(
      open({ transports: ['websocket'], extraHeaders: { origin: 'https://evil.example' } }),
    ).rejects.toThrow();
  });

  it('lets the product’s own origin open a websocket', async () => {
    const socket = await open({ transports: ['websocket'], extraHeaders: { origin: gateway.url } });
    expect(socket.connected).toBe(true);
  });

  it('ends the upstream side of a proxied websocket when the gateway shuts down (no half-open connections)', async () => {
    const { port } = httpServer.address() as AddressInfo;
    const keys = await generateTestKeys();
    const second = await startTestGateway({
      keys,
      authUrl: auth.url,
      chatApiUrl: chatApi.url,
      realtimeUrl: `http://127.0.0.1:${port}`,
    });
    const socket = connect(second.url, {
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { 'x-request-id': 'to-close' },
    });
    clients.push(socket);
    const upstreamSide = await new Promise<import('socket.io').Socket>((resolve) => {
      ioServer.on('connection', (s) => {
        if (s.handshake.headers['x-request-id'] === 'to-close') resolve(s);
      });
    });
    const gone = new Promise<string>((resolve) => upstreamSide.once('disconnect', resolve));
    const started = Date.now();
    await second.close();
    await expect(gone).resolves.toBe('transport close');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('closes websocket upgrades outside /socket.io', async () => {
    const socket = connect(gateway.url, {
      path: '/elsewhere',
      transports: ['websocket'],
      reconnection: false,
      timeout: 3000,
    });
    clients.push(socket);
    const outcome = new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    await expect(outcome).rejects.toThrow();
  });
});
