/**
 * The tray icon: the app keeps serving (OBS overlay, workers) with no window open, and the tray is
 * how the streamer gets a window back or quits.
 */
import { Menu, Tray, nativeImage } from 'electron';

export interface TrayActions {
  showStudio(): void;
  showStream(): void;
  quit(): void;
}

export function createTray(iconPath: string, actions: TrayActions): Tray {
  const icon = nativeImage.createFromPath(iconPath).resize({ width: 22, height: 22 });
  const tray = new Tray(icon);
  tray.setToolTip('Free-Agent-Vtuber Studio');
  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: 'Show Studio', click: () => actions.showStudio() },
      { label: 'Show Stream Window', click: () => actions.showStream() },
      { type: 'separator' },
      { label: 'Quit', click: () => actions.quit() },
    ]),
  );
  tray.on('click', () => actions.showStudio());
  return tray;
}
