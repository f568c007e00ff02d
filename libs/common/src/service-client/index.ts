export * from './service-client';
export * from './upstream-errors';
