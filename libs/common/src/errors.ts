/** The one error type handlers throw; the error middleware maps it to `{error:{code,message}}`. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }

  static badRequest(message: string, code = 'validation_error', details?: unknown): AppError {
    return new AppError(400, code, message, {}, details);
  }
  static unauthorized(message = 'Authentication required', code = 'unauthorized'): AppError {
    return new AppError(401, code, message);
  }
  static forbidden(message = 'Not allowed', code = 'forbidden'): AppError {
    return new AppError(403, code, message);
  }
  static notFound(message = 'Not found', code = 'not_found'): AppError {
    return new AppError(404, code, message);
  }
  static conflict(message: string, code = 'conflict'): AppError {
    return new AppError(409, code, message);
  }
  static tooManyRequests(
    retryAfterSeconds: number,
    message = 'Too many requests',
    code = 'rate_limited',
  ): AppError {
    return new AppError(429, code, message, {
      'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))),
    });
  }
}

export interface ErrorBody {
  error: { code: string; message: string; errorId?: string; details?: unknown };
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
