export * from './identity';
export * from './trigger-log';
export * from './stream-store';
