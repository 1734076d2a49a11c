/**
 * How a supervisor state looks on the page. The state words are the supervisor's; unknown ones
 * get a neutral chip rather than being hidden, so a newer core still shows what it reports.
 */
const COLORS: Record<string, string> = {
  ready: 'success',
  running: 'success',
  starting: 'info',
  restarting: 'warning',
  unhealthy: 'warning',
  backoff: 'warning',
  stopping: 'grey',
  stopped: 'grey',
  crashed: 'error',
  failed: 'error',
};

export function stateColor(state: string): string {
  return COLORS[state.toLowerCase()] ?? 'secondary';
}
