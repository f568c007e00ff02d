export * from './identity';
export * from './trigger-log';
export * from './stream-store';
export * from './chat-lanes';
export * from './memory-trigger-log';
export {
  createRedisTriggerConsumer,
  TRIGGER_GROUP,
  type RedisTriggerConsumerOptions,
} from './trigger-consumer';
