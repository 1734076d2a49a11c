/**
 * Session-wide hardening, installed once before the first window opens:
 *  - a Content-Security-Policy header on every response (the same policy as index.html's <meta>);
 *  - permissions: only 'media' with audio only (the microphone), only for the gateway's origin;
 *  - every webContents: no <webview>, navigation limited to the gateway origin, no new windows.
 * External http(s) links leave the app through the OS browser; any other scheme is dropped.
 */
import { app, shell, type Session, type WebContents } from 'electron';
import { RENDERER_CSP } from '../src/shared/renderer-api.js';

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

function openExternalIfWeb(url: string): void {
  const protocol = (() => {
    try {
      return new URL(url).protocol;
    } catch {
      return '';
    }
  })();
  if (protocol === 'http:' || protocol === 'https:') void shell.openExternal(url);
}

/** Keeps one webContents on the gateway's origin; anything else is blocked (web links open outside). */
export function guardNavigation(contents: WebContents, gatewayOrigin: string): void {
  const onNavigate = (event: Electron.Event, url: string): void => {
    if (originOf(url) === gatewayOrigin) return;
    event.preventDefault();
    openExternalIfWeb(url);
  };
  contents.on('will-navigate', onNavigate);
  contents.on('will-redirect', onNavigate);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    // The studio never needs a second window of its own: same-origin popups are denied as well.
    if (originOf(url) !== gatewayOrigin) openExternalIfWeb(url);
    return { action: 'deny' };
  });
}

export function installSessionSecurity(session: Session, gatewayOrigin: string): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    const responseHeaders = { ...details.responseHeaders };
    // Drop a differently-cased duplicate so exactly one policy (ours) applies.
    for (const key of Object.keys(responseHeaders)) {
      if (key.toLowerCase() === 'content-security-policy') delete responseHeaders[key];
    }
    responseHeaders['Content-Security-Policy'] = [RENDERER_CSP];
    callback({ responseHeaders });
  });

  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    const isMicOnly =
      permission === 'media' &&
      'mediaTypes' in details &&
      Array.isArray(details.mediaTypes) &&
      details.mediaTypes.length > 0 &&
      details.mediaTypes.every((t) => t === 'audio');
    callback(isMicOnly && originOf(details.requestingUrl) === gatewayOrigin);
  });
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin) => {
    return permission === 'media' && originOf(requestingOrigin) === gatewayOrigin;
  });

  // Any webContents created later (devtools excepted) gets the same navigation rules.
  app.on('web-contents-created', (_event, contents) => {
    if (contents.getType() === 'window' || contents.getType() === 'webview') guardNavigation(contents, gatewayOrigin);
  });
}
