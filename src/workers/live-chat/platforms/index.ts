/**
 * The platform connectors the live-chat service can make, by platform. A platform missing here is
 * reported as that connection's error status (the service never crashes on it).
 */
import type { ChatSourceRegistry } from '../connections.js';
import { createBilibiliSource } from './bilibili.js';
import { createTwitchSource } from './twitch.js';
import { createYouTubeSource } from './youtube.js';

export const CHAT_SOURCES: ChatSourceRegistry = {
  twitch: createTwitchSource,
  youtube: createYouTubeSource,
  bilibili: createBilibiliSource,
};
