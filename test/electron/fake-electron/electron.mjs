// A stand-in for the `electron` module, so the BUILT main bundle (out/main/index.js) can run under
// plain Node where no Electron binary exists. Deliberately small: it records what the shell asks
// of Electron and reports it as JSON lines over the IPC channel of the forked process. The parts
// with real behaviour are real: `utilityProcess.fork` is child_process.fork of the same worker file
// (the worker supports both), and BrowserWindow.loadURL really fetches the page.
// The test drives it with messages: fire an app event, ask a registered handler a question.
import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';

const report = (event) => process.send?.(event);

class FakeWebContents extends EventEmitter {
  windowOpenHandler = undefined;
  getType() {
    return 'window';
  }
  setWindowOpenHandler(handler) {
    this.windowOpenHandler = handler;
  }
}

const windows = [];

export class BrowserWindow extends EventEmitter {
  constructor(options) {
    super();
    this.options = options;
    this.destroyed = false;
    this.webContents = new FakeWebContents();
    windows.push(this);
    app.emit('web-contents-created', {}, this.webContents);
    report({
      type: 'window-created',
      title: options.title,
      webPreferences: options.webPreferences,
      transparent: !!options.transparent,
      frame: options.frame !== false,
      alwaysOnTop: !!options.alwaysOnTop,
    });
  }
  async loadURL(url) {
    const res = await fetch(url);
    report({ type: 'window-loaded', url, status: res.status, csp: res.headers.get('content-security-policy') });
    this.emit('ready-to-show');
  }
  setIgnoreMouseEvents(ignore, options) {
    report({ type: 'ignore-mouse-events', title: this.options.title, ignore, forward: !!options?.forward });
  }
  show() {}
  focus() {}
  restore() {}
  isMinimized() {
    return false;
  }
  isDestroyed() {
    return this.destroyed;
  }
  destroy() {
    this.destroyed = true;
    this.emit('closed');
  }
}

class FakeApp extends EventEmitter {
  quitRequests = 0;
  requestSingleInstanceLock() {
    return process.env.FAKE_ELECTRON_SECOND_INSTANCE !== '1';
  }
  whenReady() {
    return Promise.resolve();
  }
  getPath(name) {
    return `/tmp/fake-electron-${name}`;
  }
  getPreferredSystemLanguages() {
    return (process.env.FAKE_ELECTRON_LANGUAGES ?? 'en-US').split(',');
  }
  quit() {
    this.quitRequests++;
    let prevented = false;
    this.emit('before-quit', { preventDefault: () => (prevented = true) });
    report({ type: 'quit-requested', prevented });
    if (!prevented) this.exit(0);
  }
  exit(code) {
    report({ type: 'exit', code });
    setTimeout(() => process.exit(code), 50);
  }
}
export const app = new FakeApp();

export const utilityProcess = {
  fork(modulePath, args, options) {
    const child = fork(modulePath, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const proc = new EventEmitter();
    proc.stdout = child.stdout;
    proc.stderr = child.stderr;
    Object.defineProperty(proc, 'pid', { get: () => child.pid });
    proc.kill = () => child.kill('SIGTERM');
    child.once('exit', (code, signal) => {
      report({ type: 'utility-exit', pid: child.pid, code, signal });
      proc.emit('exit', code ?? (signal ? 128 : 0));
    });
    report({ type: 'utility-fork', modulePath, args, serviceName: options.serviceName, pid: child.pid });
    return proc;
  },
};

const handlers = {};
export const session = {
  defaultSession: {
    webRequest: { onHeadersReceived: (fn) => (handlers.headers = fn) },
    setPermissionRequestHandler: (fn) => (handlers.permissionRequest = fn),
    setPermissionCheckHandler: (fn) => (handlers.permissionCheck = fn),
  },
};

export const ipcMain = {
  handlers: new Map(),
  handle(channel, fn) {
    this.handlers.set(channel, fn);
  },
  removeHandler(channel) {
    this.handlers.delete(channel);
  },
};

export const shell = { openExternal: async (url) => report({ type: 'open-external', url }) };
export const dialog = {
  showErrorBox: (title, message) => report({ type: 'error-box', title, message }),
  showMessageBox: async (options) => {
    report({ type: 'message-box', title: options.title, message: options.message });
    return { response: 0 };
  },
};
export const globalShortcut = {
  register: (accelerator) => {
    report({ type: 'shortcut-register', accelerator });
    return true;
  },
  unregister: (accelerator) => report({ type: 'shortcut-unregister', accelerator }),
};
export const Menu = { buildFromTemplate: (template) => ({ template }) };
export const nativeImage = { createFromPath: (path) => ({ path, resize: () => ({ path }) }) };
let trayMenu;
export class Tray {
  constructor() {
    report({ type: 'tray-created' });
  }
  setToolTip() {}
  setContextMenu(menu) {
    trayMenu = menu;
  }
  on() {}
  destroy() {
    report({ type: 'tray-destroyed' });
  }
}

/** Questions from the test, answered with what the shell's registered handlers decide. */
async function answer(msg) {
  switch (msg.type) {
    case 'quit':
      return app.quit();
    case 'permission':
      return new Promise((resolve) =>
        handlers.permissionRequest({}, msg.permission, resolve, { requestingUrl: msg.url, mediaTypes: msg.mediaTypes }),
      );
    case 'headers': {
      let out;
      handlers.headers({ url: msg.url, responseHeaders: msg.headers }, (r) => (out = r));
      return out;
    }
    case 'navigate': {
      let prevented = false;
      windows[0].webContents.emit('will-navigate', { preventDefault: () => (prevented = true) }, msg.url);
      return prevented;
    }
    case 'tray-click': {
      // Like Electron: a checkbox flips and a radio item becomes checked before its click handler runs.
      const find = (items) => {
        for (const item of items ?? []) {
          if (item.label === msg.label) return item;
          const inner = find(item.submenu);
          if (inner) return inner;
        }
        return undefined;
      };
      const item = find(trayMenu?.template);
      if (!item) throw new Error(`no tray menu item '${msg.label}'`);
      if (item.type === 'checkbox') item.checked = !item.checked;
      if (item.type === 'radio') item.checked = true;
      item.click?.(item);
      return { checked: item.checked };
    }
    case 'window-open':
      return windows[0].webContents.windowOpenHandler({ url: msg.url });
    case 'ipc': {
      const fn = ipcMain.handlers.get(msg.channel);
      try {
        return { value: await fn({ senderFrame: { url: msg.senderUrl } }) };
      } catch (err) {
        return { error: err.message };
      }
    }
    default:
      throw new Error(`unknown probe ${msg.type}`);
  }
}

process.on('message', (msg) => {
  answer(msg).then(
    (result) => report({ type: 'answer', id: msg.id, result }),
    (err) => report({ type: 'answer', id: msg.id, error: String(err) }),
  );
});
