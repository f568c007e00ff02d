export * from './domain';
export * from './http-schemas';
export * from './socket-events';
export * from './bus-events';
export * from './message-batch';
