export { startAssistant, type RunningAssistant, type StartAssistantOptions } from './main';
export { assistantEnvSchema, loadAssistantConfig, type AssistantConfig } from './config';
