/** The worker registry: one lazily imported definition per service, so a process loads only its own. */
import type { ServiceName } from '../shared/bus.js';
import type { ServiceDefinition } from './runtime/index.js';

type Loader = () => Promise<{ default: ServiceDefinition }>;

export const SERVICE_LOADERS: Record<ServiceName, Loader> = {
  'input-handler': () => import('./input-handler/index.js'),
  asr: () => import('./asr/index.js'),
  memory: () => import('./memory/index.js'),
  'long-term-memory': () => import('./long-term-memory/index.js'),
  'chat-ai': () => import('./chat-ai/index.js'),
  tts: () => import('./tts/index.js'),
  'output-handler': () => import('./output-handler/index.js'),
  'dialog-engine': () => import('./dialog-engine/index.js'),
  'live-chat': () => import('./live-chat/index.js'),
};
