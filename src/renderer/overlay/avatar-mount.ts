/**
 * The one place the overlay meets the avatar module (src/renderer/avatar, the studio's renderer of
 * Live2D models): everything else of the overlay only knows the `OverlayAvatar` shape below, the
 * part of the avatar contract (createAvatar, docs in that module) the overlay uses.
 *
 * The module is looked up with a glob so the overlay builds and runs (drawing nothing, saying so
 * in the log) in a checkout where it is absent; where it is present it is bundled as a lazy chunk,
 * loaded after the two Cubism cores (classic scripts the engine expects as globals, copied into
 * /live2d/core/ at build time), so a page never asks for cores it has no use for.
 */
import type { ModelInfo, ModelTransform } from '../../shared/models.js';

export interface OverlayAvatarOptions {
  fpsCap?: number;
  followPointer?: boolean;
  interactive?: boolean;
  background?: 'transparent' | string;
  log?: (msg: string) => void;
}

export interface OverlayAvatar {
  load(model: ModelInfo): Promise<void>;
  setMouthSource(fn: (() => { open: number; form?: number }) | undefined): void;
  emotion(tag: string): boolean;
  setTransform(t: ModelTransform): void;
  setFpsCap(n: number): void;
  destroy(): void;
}

interface AvatarModule {
  createAvatar(host: HTMLElement, opts: OverlayAvatarOptions): OverlayAvatar;
  /** The built-in model with its emotion map, for a gateway without a model list. */
  BUILTIN_SHIZUKU?: ModelInfo;
}

export interface MountedAvatar {
  avatar: OverlayAvatar;
  builtin?: ModelInfo;
}

const found = import.meta.glob<AvatarModule>('../avatar/index.ts');

/** The Cubism 2 core and the Cubism 3-5 core, in the order the engine expects them. */
export const CUBISM_CORES = ['/live2d/core/live2dcubism2core.min.js', '/live2d/core/live2dcubismcore.min.js'] as const;

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.async = false;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`${src} did not load: rebuild the app (npm run build copies the Cubism cores)`));
    document.head.appendChild(s);
  });
}

/** Whether this build has the avatar module at all. */
export const hasAvatarModule = Object.keys(found).length > 0;

/** The avatar drawn into `host`, or undefined (logged) when this build has no avatar module. */
export async function mountAvatar(host: HTMLElement, opts: OverlayAvatarOptions): Promise<MountedAvatar | undefined> {
  const load = Object.values(found)[0];
  if (!load) {
    opts.log?.('this build has no avatar module (src/renderer/avatar): the overlay draws nothing');
    return undefined;
  }
  for (const core of CUBISM_CORES) await loadScript(core);
  const mod = await load();
  return { avatar: mod.createAvatar(host, opts), builtin: mod.BUILTIN_SHIZUKU };
}
