export { SettingsRejected, SettingsService, type SettingsServiceOptions } from './settings-service.js';
export { restartNeeds } from './restart-needs.js';
export { listModels, llmTarget, testLlm, type LlmProbeOptions, type LlmTarget } from './llm-probe.js';
export { probeBus } from './bus-probe.js';
