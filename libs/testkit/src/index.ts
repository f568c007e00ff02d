export * from './ports';
export * from './redis-server';
export * from './mongo';
export * from './keys';
export * from './logger';
export * from './service-process';
export * from './public-api';
