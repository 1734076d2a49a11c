/**
 * The few strings the Electron shell shows itself (tray menu, the start failure box), in the system's
 * language: the shell starts before any page, so it follows `app.getPreferredSystemLanguages()`
 * with the same rule as the studio (src/shared/locale.ts). Everything else is the studio's own i18n.
 */
import { pickLocale, type Locale } from '../src/shared/locale.js';

const EN = {
  tooltip: 'Free-Agent-Vtuber Studio',
  showStudio: 'Show Studio',
  showStream: 'Show Stream Window',
  clickThrough: 'Click-through',
  streamBackground: 'Stream Background',
  transparent: 'Transparent',
  green: 'Green (#00FF00)',
  magenta: 'Magenta (#FF00FF)',
  quit: 'Quit',
  startFailed: 'Free-Agent-Vtuber Studio could not start',
};

export type ShellStrings = typeof EN;

const ZH_CN: ShellStrings = {
  tooltip: 'Free-Agent-Vtuber 工作室',
  showStudio: '显示工作室',
  showStream: '显示直播窗口',
  clickThrough: '鼠标穿透',
  streamBackground: '直播窗口背景',
  transparent: '透明',
  green: '绿色（#00FF00）',
  magenta: '品红（#FF00FF）',
  quit: '退出',
  startFailed: 'Free-Agent-Vtuber 工作室无法启动',
};

const TABLES: Record<Locale, ShellStrings> = { en: EN, 'zh-CN': ZH_CN };

export function shellStrings(systemLanguages: readonly string[]): ShellStrings {
  return TABLES[pickLocale(undefined, systemLanguages)];
}
