import { AppError, type AccessClaims, type AccessTokenVerifier, type Logger } from '@cohort/common';

/**
 * Verifies a token (at the handshake and on `auth:refresh`), telling a bad token (`unauthorized`) from a
 * verifier that cannot answer right now (JWKS or denylist unreachable: `unavailable`, so the client retries
 * instead of logging the user out).
 */
export async function verifyToken(
  verify: AccessTokenVerifier,
  token: string,
  logger: Logger,
): Promise<AccessClaims> {
  try {
    return await verify(token);
  } catch (err) {
    if (err instanceof AppError) throw err;
    logger.warn({ err }, 'token verification unavailable');
    throw new AppError(503, 'unavailable', 'Cannot verify the session right now; try again');
  }
}
