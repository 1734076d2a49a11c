/**
 * How a memory's subject is shown: the built-in ones by their translated name, a viewer by the name
 * they had and their platform ("Alice · Twitch"), or their user id when no name is known.
 */
import { BUILTIN_SUBJECTS } from '../../shared/long-term.js';
import { viewerOf } from '../../shared/memory-api.js';
import type { ChatPlatform } from '../../shared/live-chat.js';
import { PLATFORM_LOOK } from '../chat/platforms.js';

export type Translate = (key: string, params?: Record<string, unknown>) => string;

export function platformName(platform: string): string {
  return PLATFORM_LOOK[platform as ChatPlatform]?.name ?? platform;
}

export function subjectLabel(t: Translate, subject: string, name?: string): string {
  if ((BUILTIN_SUBJECTS as readonly string[]).includes(subject)) return t(`memory.subject.${subject}`);
  const viewer = viewerOf(subject);
  if (!viewer) return subject;
  return t('memory.subject.viewer', { name: name || viewer.userId, platform: platformName(viewer.platform) });
}
