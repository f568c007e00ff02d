import { Router, type Express, type RequestHandler } from 'express';
import {
  AppError,
  createBaseApp,
  createOpsRouter,
  errorHandler,
  IDENTITY_HEADER,
  notFoundHandler,
  originCheck,
  requireIdentity,
  type IdentityVerifier,
  type ReadinessCheck,
  type ServiceMetrics,
} from '@cohort/common';
import type { AuthContext } from './use-cases/deps';
import { createAuthRouter } from './routes/auth.routes';
import { createUsersRouter } from './routes/users.routes';

export interface AuthAppDeps {
  ctx: AuthContext;
  metrics: ServiceMetrics;
  /** Verifies `x-cohort-identity` against INTERNAL_JWKS: the only source of the caller's identity. */
  verifyIdentity: IdentityVerifier;
  allowedOrigins: readonly string[];
  production: boolean;
  readiness?: Record<string, ReadinessCheck>;
}

/** Builds auth's HTTP app from its dependencies (never listens: main.ts and the tests do). */
export function createAuthApp({
  ctx,
  metrics,
  verifyIdentity,
  allowedOrigins,
  production,
  readiness = {},
}: AuthAppDeps): Express {
  const app = createBaseApp({ logger: ctx.logger, metrics, production });
  app.use(createOpsRouter({ service: 'auth', registry: metrics.registry, readiness }));

  const identity = requireIdentity(verifyIdentity);
  // Defence in depth: the forwarder already consulted the denylist, but a revoked session stops here too.
  const notRevoked: RequestHandler = (req, _res, next) => {
    const id = req.identity;
    if (!id) return next(AppError.unauthorized());
    ctx.denylist.isRevoked(id.tokenId, id.sessionId).then(
      (revoked) => next(revoked ? AppError.unauthorized('Session revoked') : undefined),
      (err: unknown) => next(err),
    );
  };
  // A router is itself a middleware: both checks, in order, wherever a session is required.
  const session = Router();
  session.use(identity, notRevoked);

  const optionalSession: RequestHandler = (req, res, next) =>
    req.headers[IDENTITY_HEADER] === undefined ? next() : identity(req, res, next);

  app.use('/api', originCheck(allowedOrigins));
  app.use(
    '/api/auth',
    createAuthRouter({ ctx, secureCookies: production, requireSession: session, optionalSession }),
  );
  app.use('/api/users', createUsersRouter({ ctx, requireSession: session }));
  app.use(notFoundHandler());
  app.use(errorHandler(ctx.logger));
  return app;
}
