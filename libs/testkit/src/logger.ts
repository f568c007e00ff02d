import { createLogger, type Logger } from '@cohort/common';

/** A logger for tests: silent unless TEST_LOG_LEVEL asks for more. */
export function testLogger(service = 'test'): Logger {
  const level = process.env.TEST_LOG_LEVEL ?? 'silent';
  return createLogger({ service, level });
}
