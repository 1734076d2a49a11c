/**
 * The tray icon: the app keeps serving (OBS overlay, workers) with no window open, and the tray is
 * how the streamer gets a window back or quits.
 */
import { Menu, Tray, nativeImage, type MenuItemConstructorOptions } from 'electron';
import type { ShellStrings } from './shell-strings.js';
import { STREAM_CHROMAS, type StreamChroma, type StreamWindowOptions } from './windows.js';

export interface TrayActions {
  showStudio(): void;
  showStream(): void;
  /** Clicks pass through the stream window (so it can sit over a game) or not. */
  setClickThrough(on: boolean): void;
  /** The stream window's background: transparent, or a key colour for OBS's chroma key. */
  setChroma(chroma: StreamChroma): void;
  quit(): void;
}

export function createTray(iconPath: string, actions: TrayActions, stream: StreamWindowOptions, text: ShellStrings): Tray {
  const icon = nativeImage.createFromPath(iconPath).resize({ width: 22, height: 22 });
  const tray = new Tray(icon);
  tray.setToolTip(text.tooltip);
  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: text.showStudio, click: () => actions.showStudio() },
      { label: text.showStream, click: () => actions.showStream() },
      { label: text.clickThrough, type: 'checkbox', checked: stream.clickThrough, click: (item) => actions.setClickThrough(item.checked) },
      {
        label: text.streamBackground,
        submenu: STREAM_CHROMAS.map(
          (chroma): MenuItemConstructorOptions => ({
            label: text[chroma],
            type: 'radio',
            checked: stream.chroma === chroma,
            click: () => actions.setChroma(chroma),
          }),
        ),
      },
      { type: 'separator' },
      { label: text.quit, click: () => actions.quit() },
    ]),
  );
  tray.on('click', () => actions.showStudio());
  return tray;
}
