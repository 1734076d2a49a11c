/**
 * Secret redaction for everything that reaches the log ring buffer, the log files or the gateway.
 * Two layers: exact known secrets (the embedded bus password, configured API keys) registered at
 * run time, and patterns for things that look like secrets (URL credentials, key=value pairs with
 * secret-ish names, bearer tokens, OpenAI-style keys). Redaction keeps JSON text valid: values are
 * replaced inside their quotes, never the quotes themselves.
 */

export const REDACTED = '[REDACTED]';

const PATTERNS: Array<[RegExp, string]> = [
  // scheme://user:password@host -> scheme://user:[REDACTED]@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)([^:/@\s"']*):([^@\s/"']+)@/gi, `$1$2:${REDACTED}@`],
  // Authorization: Bearer xyz
  [/\b(Bearer\s+)[A-Za-z0-9._~+/-]+=*/g, `$1${REDACTED}`],
  // "password":"...", "apiKey": "...", FAV_LLM_API_KEY=..., secret, token (not max_tokens)
  [/\b([\w-]*(?:api[_-]?key|access[_-]?key|password|passwd|secret|token))\b(["']?\s*[:=]\s*)"(?!\[REDACTED\])[^"]*"/gi, `$1$2"${REDACTED}"`],
  [/\b([\w-]*(?:api[_-]?key|access[_-]?key|password|passwd|secret|token))\b(\s*[:=]\s*)(?!\[REDACTED\]|")([^"'\s,&}\]]+)/gi, `$1$2${REDACTED}`],
  // OpenAI-like keys standing alone
  [/\bsk-[A-Za-z0-9_-]{16,}/g, `sk-${REDACTED}`],
];

export class Redactor {
  private secrets: string[] = [];

  /** Registers an exact secret (and its URL-encoded form). Short strings are refused: too many false hits. */
  addSecret(secret: string | undefined | null): void {
    if (!secret || secret.length < 4) return;
    for (const s of new Set([secret, encodeURIComponent(secret)])) {
      if (!this.secrets.includes(s)) this.secrets.push(s);
    }
    // Longest first so a secret that contains another is replaced whole.
    this.secrets.sort((a, b) => b.length - a.length);
  }

  /** Registers the password (and user, if any) of a connection URL such as the bus URL. */
  addUrlSecrets(url: string | undefined): void {
    if (!url) return;
    try {
      const u = new URL(url);
      if (u.password) this.addSecret(decodeURIComponent(u.password));
    } catch {
      // Not a URL: nothing to learn from it.
    }
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) {
      if (out.includes(s)) out = out.split(s).join(REDACTED);
    }
    for (const [re, repl] of PATTERNS) out = out.replace(re, repl);
    return out;
  }
}

/** Redacts with the patterns only (no known secrets). */
export function redactText(text: string): string {
  return defaultRedactor.redact(text);
}
const defaultRedactor = new Redactor();
