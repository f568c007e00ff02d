export * from './openai-fake';
export * from './direct-first-chunk';
