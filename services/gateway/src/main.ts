import { createServer, type Server } from 'node:http';
import {
  createForwardingSigner,
  createUserTokenVerifier,
  runService,
  startService,
  type RunningService,
  type StartOptions,
} from '@cohort/common';
import { createGatewayApp } from './app';
import { loadGatewayConfig, type GatewayConfig } from './config';

export type StartGatewayOptions = StartOptions<GatewayConfig>;

export interface RunningGateway extends RunningService {
  server: Server;
}

/** Composition root: keys, verifier, denylist, app, HTTP server with websocket upgrades. */
export function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { config } = options;
  return startService({ service: 'gateway', ...options }, async (runtime) => {
    const gateway = createGatewayApp({
      config,
      logger: runtime.logger,
      verifyAccessToken: await createUserTokenVerifier(config, runtime.denylist()),
      identitySigner: await createForwardingSigner(config.INTERNAL_SIGNING_KEY, 'gateway'),
      readiness: runtime.readiness,
    });
    const server = createServer(gateway.app);
    server.on('upgrade', gateway.handleUpgrade);
    return {
      server,
      port: await runtime.listen(server, {
        port: config.PORT,
        host: config.HOST,
        // Proxied websockets and pooled upstream connections end as soon as draining starts.
        onDrainStart: () => gateway.close(),
      }),
    };
  });
}

if (require.main === module) runService('gateway', loadGatewayConfig, startGateway);
