/**
 * The chat panel's calls to the gateway (ChatPaths): the buttons' commands and the banned-word
 * import. A refusal throws ChatApiError with the gateway's own words (they name the fix).
 */
import { ChatPaths, type BannedWordsResult, type ChatCommandResult } from '../../shared/chat-api.js';
import type { ChatCommand } from '../../shared/live-chat.js';
import { getToken } from '../voice/token.js';

export class ChatApiError extends Error {
  constructor(
    readonly code: 'no_token' | 'network' | 'refused',
    message: string,
  ) {
    super(message);
    this.name = 'ChatApiError';
  }
}

async function call<T>(path: string, body: string, type: string): Promise<T> {
  const token = await getToken();
  if (!token) throw new ChatApiError('no_token', 'this page has no studio token');
  let res: Response;
  try {
    res = await fetch(path, { method: 'POST', cache: 'no-store', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });
  } catch {
    throw new ChatApiError('network', 'the core is not reachable');
  }
  const answer = (await res.json().catch(() => undefined)) as { error?: string } | undefined;
  if (!res.ok) throw new ChatApiError('refused', answer?.error ?? `${path} answered HTTP ${res.status}`);
  return answer as T;
}

export function sendChatCommand(cmd: ChatCommand): Promise<ChatCommandResult> {
  return call<ChatCommandResult>(ChatPaths.command, JSON.stringify(cmd), 'application/json');
}

/** Imports a word list (the file's text): merged into the saved list, or replacing it. */
export function importBannedWords(text: string, mode: 'merge' | 'replace'): Promise<BannedWordsResult> {
  return call<BannedWordsResult>(`${ChatPaths.bannedWords}?mode=${mode}`, text, 'text/plain; charset=utf-8');
}
