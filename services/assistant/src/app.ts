import type { Express } from 'express';
import {
  createBaseApp,
  createIdentityVerifier,
  createOpsRouter,
  errorHandler,
  notFoundHandler,
  requireIdentity,
  type Logger,
  type ReadinessCheck,
} from '@cohort/common';
import type { AssistantConfig } from './config';
import type { AssistantMetrics } from './metrics';
import { assistantRouter, type AssistantRoutesDeps } from './routes/assistant.routes';

export interface AssistantAppDeps {
  config: Pick<AssistantConfig, 'NODE_ENV' | 'INTERNAL_JWKS'>;
  logger: Logger;
  metrics: AssistantMetrics;
  routes: AssistantRoutesDeps;
  readiness?: Record<string, ReadinessCheck>;
}

/** The assistant's HTTP side: ops routes, then its two public routes behind the forwarded identity. */
export function createAssistantApp(deps: AssistantAppDeps): Express {
  const { config, logger, metrics } = deps;
  const app = createBaseApp({
    logger,
    metrics,
    production: config.NODE_ENV === 'production',
    bodyLimit: '16kb',
  });
  app.use(
    createOpsRouter({ service: 'assistant', registry: metrics.registry, readiness: deps.readiness ?? {} }),
  );
  const identified = requireIdentity(createIdentityVerifier(config.INTERNAL_JWKS));
  app.use('/api', identified);
  app.use(assistantRouter(deps.routes));
  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  return app;
}
