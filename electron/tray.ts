/**
 * The tray icon: the app keeps serving (OBS overlay, workers) with no window open, and the tray is
 * how the streamer gets a window back or quits.
 */
import { Menu, Tray, nativeImage, type MenuItemConstructorOptions } from 'electron';
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

const CHROMA_LABELS: Record<StreamChroma, string> = {
  transparent: 'Transparent',
  green: 'Green (#00FF00)',
  magenta: 'Magenta (#FF00FF)',
};

export function createTray(iconPath: string, actions: TrayActions, stream: StreamWindowOptions): Tray {
  const icon = nativeImage.createFromPath(iconPath).resize({ width: 22, height: 22 });
  const tray = new Tray(icon);
  tray.setToolTip('Free-Agent-Vtuber Studio');
  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: 'Show Studio', click: () => actions.showStudio() },
      { label: 'Show Stream Window', click: () => actions.showStream() },
      { label: 'Click-through', type: 'checkbox', checked: stream.clickThrough, click: (item) => actions.setClickThrough(item.checked) },
      {
        label: 'Stream Background',
        submenu: STREAM_CHROMAS.map(
          (chroma): MenuItemConstructorOptions => ({
            label: CHROMA_LABELS[chroma],
            type: 'radio',
            checked: stream.chroma === chroma,
            click: () => actions.setChroma(chroma),
          }),
        ),
      },
      { type: 'separator' },
      { label: 'Quit', click: () => actions.quit() },
    ]),
  );
  tray.on('click', () => actions.showStudio());
  return tray;
}
