export * from './channel-protocol';
export * from './channel-server';
export * from './channel-client';
