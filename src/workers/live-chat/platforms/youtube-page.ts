/**
 * What the connector reads from YouTube's HTML pages, pure (no I/O):
 *   - the configured channel: a video id, a watch / youtu.be / live URL, an @handle or a UC… channel
 *     id (a channel's current stream is its `/@handle/live` or `/channel/<id>/live` page);
 *   - a watch page: its canonical video id, the client version and visitor data (`ytcfg`), whether
 *     the video plays (`ytInitialPlayerResponse.playabilityStatus`) and the live chat's first
 *     continuation (`ytInitialData`'s `liveChatRenderer`), preferring "Live chat" (every message)
 *     over the default "Top chat" (a filtered selection).
 */
import { continuationOf, isObj } from './youtube-parse.js';

export type YouTubeTarget = { kind: 'video'; videoId: string } | { kind: 'channel'; path: string; label: string };

const VIDEO_ID = /^[A-Za-z0-9_-]{11}$/;
const CHANNEL_ID = /^UC[A-Za-z0-9_-]{22}$/;
const HANDLE = /^@[\p{L}\p{N}._-]{3,30}$/u;

/** The settings' `channel` -> what to open; undefined when it is none of the accepted forms. */
export function parseTarget(input: string): YouTubeTarget | undefined {
  const s = input.trim();
  if (VIDEO_ID.test(s)) return { kind: 'video', videoId: s };
  if (CHANNEL_ID.test(s)) return { kind: 'channel', path: `/channel/${s}/live`, label: s };
  if (HANDLE.test(s)) return { kind: 'channel', path: `/${s}/live`, label: s };
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `https://${s}`);
  } catch {
    return undefined;
  }
  const host = url.hostname.replace(/^(www\.|m\.|music\.)/, '');
  const parts = url.pathname.split('/').filter(Boolean);
  if (host === 'youtu.be' && parts[0] && VIDEO_ID.test(parts[0])) return { kind: 'video', videoId: parts[0] };
  if (host !== 'youtube.com') return undefined;
  const v = url.searchParams.get('v');
  if (parts[0] === 'watch' && v && VIDEO_ID.test(v)) return { kind: 'video', videoId: v };
  if (parts[0] === 'live_chat' && v && VIDEO_ID.test(v)) return { kind: 'video', videoId: v };
  if ((parts[0] === 'live' || parts[0] === 'embed' || parts[0] === 'shorts') && parts[1] && VIDEO_ID.test(parts[1])) {
    return { kind: 'video', videoId: parts[1] };
  }
  if (parts[0] === 'channel' && parts[1] && CHANNEL_ID.test(parts[1])) return parseTarget(parts[1]);
  if (parts[0] && HANDLE.test(decodeURIComponent(parts[0]))) return parseTarget(decodeURIComponent(parts[0]));
  return undefined;
}

export interface WatchPage {
  /** The canonical URL's video id; absent when the page is not a video (a channel that is not live). */
  videoId?: string;
  clientVersion?: string;
  visitorData?: string;
  /** playabilityStatus.status ('OK', 'ERROR', 'LOGIN_REQUIRED', 'UNPLAYABLE', 'LIVE_STREAM_OFFLINE'...) and its reason. */
  playability?: { status: string; reason?: string };
  /** Absent: the video has no live chat (not a stream, or chat off). */
  chat?: { continuation: string; isReplay: boolean };
  /** The page had neither ytInitialData nor a canonical link: not a YouTube page we can read. */
  unreadable: boolean;
}

export function readWatchPage(html: string): WatchPage {
  const canonical = /<link\s+rel="canonical"\s+href="([^"]+)"/i.exec(html)?.[1];
  const canonicalTarget = canonical ? parseTarget(decodeHtml(canonical)) : undefined;
  const data = jsonAfter(html, 'ytInitialData');
  const player = jsonAfter(html, 'ytInitialPlayerResponse');
  const page: WatchPage = { unreadable: data === undefined && canonical === undefined };
  if (canonicalTarget?.kind === 'video') page.videoId = canonicalTarget.videoId;
  page.clientVersion = /"INNERTUBE_CLIENT_VERSION"\s*:\s*"([^"]+)"/.exec(html)?.[1];
  page.visitorData = /"VISITOR_DATA"\s*:\s*"([^"]+)"/.exec(html)?.[1];
  const ps = isObj(player) && isObj(player.playabilityStatus) ? player.playabilityStatus : undefined;
  if (ps && typeof ps.status === 'string') {
    page.playability = { status: ps.status, reason: typeof ps.reason === 'string' ? ps.reason : undefined };
  }
  const renderer = findKey(data, 'liveChatRenderer');
  if (isObj(renderer)) {
    const all = liveChatItem(renderer);
    const token = all ?? continuationOf(renderer.continuations)?.token;
    if (token) page.chat = { continuation: token, isReplay: renderer.isReplay === true };
  }
  return page;
}

/** The "Live chat" (every message) view's continuation from the header's view selector. */
function liveChatItem(renderer: Record<string, unknown>): string | undefined {
  const items = findKey(renderer.header, 'subMenuItems');
  if (!Array.isArray(items)) return undefined;
  // The last item is "Live chat" (all messages); the first, selected by default, "Top chat".
  for (const item of [...items].reverse()) {
    const token = isObj(item) ? continuationOf([item.continuation]) : undefined;
    if (token) return token.token;
  }
  return undefined;
}

/** Depth-first search for the first value under `key` (the page's layout moves things around). */
function findKey(v: unknown, key: string, depth = 0): unknown {
  if (depth > 40 || typeof v !== 'object' || v === null) return undefined;
  if (!Array.isArray(v) && key in v) return (v as Record<string, unknown>)[key];
  for (const child of Object.values(v)) {
    const found = findKey(child, key, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The JSON object assigned to `name` in a page script (`var ytInitialData = {...};`). */
export function jsonAfter(html: string, name: string): unknown {
  const re = new RegExp(`(?:var\\s+${name}|window\\[["']${name}["']\\]|${name})\\s*=\\s*\\{`, 'g');
  const m = re.exec(html);
  if (!m) return undefined;
  const start = m.index + m[0].length - 1;
  let depth = 0;
  let inString = false;
  for (let i = start; i < html.length; i++) {
    const c = html[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      try {
        return JSON.parse(html.slice(start, i + 1)) as unknown;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function decodeHtml(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'");
}
