/**
 * Every user-facing string of the conversation panel, in one place until i18n is set up (a later
 * issue moves these into vue-i18n messages; keep them plain sentences without markup).
 */
export const STRINGS = {
  title: 'Conversation',
  empty: 'Say something or type a message to start.',
  you: 'You',
  avatar: 'Avatar',
  chat: 'Chat',
  interrupted: 'interrupted',
  failed: 'failed',
  typeHint: 'Type a message and press Enter',
  send: 'Send',
  stop: 'Stop',
  stopHint: 'Stop the current reply',
  micStart: 'Start talking',
  micStop: 'Stop talking',
  micHold: 'Hold to talk',
  micToggleMode: 'Click to talk',
  micPushMode: 'Push to talk',
  micLevel: 'Mic level',
  mouth: 'Mouth',
  emotion: 'Emotion',
  audioBlocked: 'The browser holds back sound until you interact with the page.',
  enableAudio: 'Enable sound',
  states: {
    idle: 'Idle',
    listening: 'Listening',
    thinking: 'Thinking',
    speaking: 'Speaking',
  },
  connection: {
    connecting: 'Connecting...',
    open: 'Connected',
    closed: 'Disconnected',
    refused: 'Token refused',
    notoken: 'No token',
  },
  micDenied:
    'Microphone access was denied. Allow the microphone for this page (browser site settings, or the system privacy settings on macOS and Windows) and try again.',
  micNotFound: 'No microphone was found. Connect one, or check that it is enabled in the system settings.',
  micBusy: 'The microphone could not be opened: another application may be using it.',
  micInsecure: 'The microphone needs a secure page: open the studio at http://127.0.0.1 or from the app.',
  micFailed: 'The microphone could not be started',
  micLost: 'The microphone stopped (unplugged or access revoked). Press the mic button to start again.',
  noToken:
    'This page has no studio token, so it cannot talk to the core. Open the link that `fav serve` prints (it carries ?token=...), or use the app.',
  tokenRefused: 'The core refused the studio token. Open the current link from `fav serve` (the token may have changed).',
  disconnected: (seconds: number) => `Lost the connection to the core; retrying in ${seconds} s.`,
  notConnected: 'Not connected to the core yet: the message will be sent when the connection is back.',
  protocolError: 'The core sent a message this page does not understand; it was ignored (is the page older than the core?).',
  errorTitle: (stage: string) => `Error in ${stage}`,
} as const;
