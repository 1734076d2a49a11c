/**
 * Polls `fn` until it gives a value (anything but undefined or false), for tests that wait on a
 * page or a process for a positive signal. Chromium pages are polled this way because the studio's
 * CSP blocks playwright's `waitForFunction`.
 */
export async function until<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, what: string, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
