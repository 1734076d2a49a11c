/**
 * The avatar: one Live2D model on a pixi 8 canvas (untitled-pixi-live2d-engine: Cubism 2 to 5 with
 * the pixi-live2d-display API), used by the studio and the overlay.
 *
 *  - Lip sync: the mouth source is sampled once per frame and written, smoothed, to the model's
 *    mouth parameters inside the engine's `beforeModelUpdate` hook, i.e. after motions, expressions,
 *    physics and pose: an idle motion can never freeze or steal the mouth. While a source is set
 *    the mouth is always written (silence closes it); the form is blended in only while a source
 *    gives one (visemes), so expressions keep their mouth shape otherwise.
 *  - Emotions: a tag goes through the model's emotion map to an expression and/or a motion; an
 *    unmapped tag does nothing and says so in the log.
 *  - Alive when idle: the engine's blinking and breathing and the model's idle motion group; eyes
 *    and head follow the pointer anywhere on the page when `followPointer`.
 *  - Drag to move and wheel to scale when `interactive`, reported through onTransformChange.
 *  - Frugal: pixi's ticker runs at the fps cap, stops while the page is hidden, and drops to the
 *    idle rate when nothing has moved for a while (frame-policy.ts); below 60 fps a timer drives
 *    it instead of requestAnimationFrame; software WebGL renders at a lower resolution. Motion sounds are off: the
 *    voice is the TTS audio the page plays.
 *  - A model that fails to load rejects with an AvatarLoadError; the previous model stays.
 *
 * The Cubism cores must be loaded (classic scripts) before this module is imported.
 */
// pixi compiles shaders' uniform uploads with new Function unless this is loaded; the CSP forbids eval.
import 'pixi.js/unsafe-eval';
import { Application, detectAvif, detectWebp, extensions, UPDATE_PRIORITY, type Ticker } from 'pixi.js';
import { config as live2dConfig, Live2DModel, Live2DPlugin, MotionPriority } from 'untitled-pixi-live2d-engine';
import type { EmotionAction, ModelInfo, ModelTransform } from '../../shared/models.js';
import { actionProblem, lookupEmotion, normaliseTag } from './emotion.js';
import { FramePolicy } from './frame-policy.js';
import { MouthSmoother, type MouthShape } from './mouth.js';
import { clampTransform, dragged, placement, sameTransform, wheeled, type Size } from './transform.js';

extensions.add(Live2DPlugin);
// pixi probes AVIF and WebP support by loading data: images, which the page's CSP (img-src 'self')
// blocks and reports as errors; Live2D textures are PNG, so the probes are dropped.
extensions.remove(detectAvif, detectWebp);
live2dConfig.sound = false;

export interface AvatarOptions {
  /** Frames per second at most (default 60). */
  fpsCap?: number;
  /** Eyes and head follow the pointer. */
  followPointer?: boolean;
  /** Drag moves the model, the wheel scales it. */
  interactive?: boolean;
  /** 'transparent' (alpha 0 outside the model; the default) or a CSS colour, e.g. a chroma key '#00FF00'. */
  background?: 'transparent' | string;
  /** After a drag or a wheel gesture (not after setTransform). */
  onTransformChange?: (t: ModelTransform) => void;
  log?: (msg: string) => void;
}

export interface Avatar {
  /** Rejects with an AvatarLoadError; the previous model stays. */
  load(model: ModelInfo): Promise<void>;
  /** Sampled each frame, written after motions and physics; undefined: the mouth closes. */
  setMouthSource(fn: (() => MouthShape | undefined) | undefined): void;
  /** Per the model's emotion map; false (and a log line) when the tag is unmapped. */
  emotion(tag: string): boolean;
  /** Shows an action now (the emotion-map editor's preview). */
  preview(action: EmotionAction): void;
  setTransform(t: ModelTransform): void;
  setFpsCap(n: number): void;
  readonly model: ModelInfo | undefined;
  /** Frame counters and parameter samples for tests and the bench. */
  readonly debug: AvatarDebug;
  destroy(): void;
}

export interface AvatarDebug {
  /** Frames rendered so far. */
  frames: number;
  /** The last lines logged (load, emotions that did nothing, failures). */
  log: string[];
  /** The ticker's frame-rate limit now (0 while hidden). */
  fpsLimit: number;
  /** Values of the watched parameters at the last model update, after lip sync wrote. */
  params: Record<string, number>;
  /** [performance.now(), mouth-open value the core had] at each model update, the last MAX_TRACE. */
  mouthTrace: [number, number][];
  /** Parameter ids to sample each frame (the mouth's are always sampled). */
  watch: Set<string>;
  /** The mouth parameters in use. */
  mouthIds: { open: string; form?: string };
  /** The WebGL renderer's name (software ones render at a lower resolution). */
  renderer: string;
  /** Whether the render loop runs (false while the page is hidden). */
  running(): boolean;
  /** The model's bounds in CSS pixels of the canvas. */
  bounds(): { x: number; y: number; width: number; height: number } | undefined;
  canvas: HTMLCanvasElement | undefined;
  /**
   * A 2D copy of the canvas taken right after the next frame is rendered (while the WebGL drawing
   * buffer still holds it): the pixels, alpha included, that the page composites.
   */
  capture(): Promise<HTMLCanvasElement>;
}

export class AvatarLoadError extends Error {
  override name = 'AvatarLoadError';
  constructor(
    readonly modelId: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The core model calls lip sync needs, Cubism 2 (setParamFloat) or Cubism 3-5 (ids as handles). */
interface ParamAccess {
  get(id: string): number;
  set(id: string, value: number): void;
}

interface Cubism2Core {
  getParamFloat(id: string): number;
  setParamFloat(id: string, v: number): void;
}
interface CubismCore {
  getParameterValueById(h: unknown): number;
  setParameterValueById(h: unknown, v: number): void;
}

function paramAccess(model: Live2DModel): ParamAccess {
  const internal = model.internalModel as unknown as { coreModel: unknown; getIdSafe?: (id: string) => unknown };
  const core = internal.coreModel as Partial<Cubism2Core & CubismCore>;
  if (typeof core.setParamFloat === 'function') {
    const c = core as Cubism2Core;
    return { get: (id) => c.getParamFloat(id), set: (id, v) => c.setParamFloat(id, v) };
  }
  const c = core as CubismCore;
  const handle = (id: string) => internal.getIdSafe!(id);
  return { get: (id) => c.getParameterValueById(handle(id)), set: (id, v) => c.setParameterValueById(handle(id), v) };
}

/** The mouth parameters: the model's own, else the lip-sync group's, else the standard names. */
function mouthIds(info: ModelInfo, model: Live2DModel): { open: string; form?: string } {
  const lipSync = (model.internalModel.motionManager as unknown as { lipSyncIds?: string[] }).lipSyncIds ?? [];
  const fallback = info.cubism === 2 ? 'PARAM_MOUTH_OPEN_Y' : 'ParamMouthOpenY';
  const open = info.mouth.open || lipSync[0] || fallback;
  return info.mouth.form ? { open, form: info.mouth.form } : { open };
}

/** Log lines and mouth samples kept in the debug view. */
const MAX_LOG = 50;
const MAX_TRACE = 1000;
/** From this rate up the loop runs on requestAnimationFrame; below it on a timer (applyFps). */
const RAF_FPS = 60;
/** Render scale under software WebGL (see softwareFallback). */
const SOFTWARE_RESOLUTION = 0.75;

const errorText = (e: unknown) => (e instanceof Error ? e.message : typeof e === 'string' ? e : JSON.stringify(e) ?? String(e));

export function createAvatar(host: HTMLElement, opts: AvatarOptions = {}): Avatar {
  const logLines: string[] = [];
  const log = (msg: string) => {
    logLines.push(msg);
    if (logLines.length > MAX_LOG) logLines.shift();
    (opts.log ?? ((m: string) => console.info(`[avatar] ${m}`)))(msg);
  };
  const transparent = !opts.background || opts.background === 'transparent';
  const policy = new FramePolicy({ cap: opts.fpsCap ?? 60 }, () => performance.now());
  const smoother = new MouthSmoother();
  const app = new Application();
  let destroyed = false;
  /** Why the pixi application could not start (no WebGL), once init has failed. */
  let initError: unknown;
  let current: { info: ModelInfo; model: Live2DModel; params: ParamAccess; natural: Size } | undefined;
  let transform: ModelTransform = { x: 0, y: 0, scale: 1 };
  let mouthSource: (() => MouthShape | undefined) | undefined;
  let loadSeq = 0;
  let lastMouthWrite = 0;
  /** Drives the ticker below RAF_FPS (see applyFps). */
  let timer: ReturnType<typeof setInterval> | undefined;
  const cleanups: (() => void)[] = [];

  const debug: AvatarDebug = {
    frames: 0,
    log: logLines,
    fpsLimit: -1,
    params: {},
    mouthTrace: [],
    renderer: '',
    watch: new Set(),
    mouthIds: { open: '' },
    canvas: undefined,
    capture() {
      return ready.then(
        () =>
          new Promise<HTMLCanvasElement>((resolve) => {
            const grab = () => {
              app.ticker.remove(grab);
              const copy = document.createElement('canvas');
              copy.width = app.canvas.width;
              copy.height = app.canvas.height;
              copy.getContext('2d')!.drawImage(app.canvas, 0, 0);
              resolve(copy);
            };
            app.ticker.add(grab, undefined, UPDATE_PRIORITY.UTILITY);
            policy.activity();
            applyFps();
          }),
      );
    },
    running() {
      return (app.ticker?.started ?? false) || timer !== undefined;
    },
    bounds() {
      if (!current) return undefined;
      const b = current.model.getBounds();
      return { x: b.x, y: b.y, width: b.width, height: b.height };
    },
  };

  const ready = app
    .init({
      resizeTo: host,
      backgroundAlpha: transparent ? 0 : 1,
      ...(transparent ? {} : { background: opts.background }),
      preference: 'webgl',
      antialias: false,
      autoDensity: true,
      resolution: Math.min(2, window.devicePixelRatio || 1),
      premultipliedAlpha: true,
    })
    .then(() => {
      if (destroyed) return;
      const canvas = app.canvas;
      canvas.style.display = 'block';
      canvas.dataset.testid = 'avatar-canvas';
      host.appendChild(canvas);
      debug.canvas = canvas;
      softwareFallback();
      app.ticker.maxFPS = policy.cap;
      app.ticker.add(onTick);
      app.renderer.on('resize', place);
      const ro = new ResizeObserver(() => app.resize());
      ro.observe(host);
      cleanups.push(() => ro.disconnect());
      listen(document, 'visibilitychange', applyFps);
      if (opts.followPointer) listen(window, 'pointermove', onPointerMove as EventListener);
      if (opts.interactive) {
        listen(canvas, 'pointerdown', onDragStart as EventListener);
        listen(canvas, 'wheel', onWheel as EventListener, { passive: false });
      }
      applyFps();
    })
    .then(
      () => undefined,
      (e: unknown) => {
        initError = e;
        log(`no WebGL canvas for the avatar: ${errorText(e)}`);
      },
    );

  /**
   * With software WebGL (SwiftShader when the GPU is blocklisted or absent, Mesa's llvmpipe) the
   * cost is filling pixels: render at SOFTWARE_RESOLUTION of the CSS size and let the compositor
   * scale it up (about 2x the frame rate at 0.5, npm run bench:render). A GPU is left alone.
   */
  function softwareFallback(): void {
    const gl = (app.renderer as unknown as { gl?: WebGLRenderingContext }).gl;
    if (!gl) return;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
    debug.renderer = name;
    if (!/swiftshader|llvmpipe|softpipe|software/i.test(name)) return;
    app.renderer.resolution = Math.min(app.renderer.resolution, SOFTWARE_RESOLUTION);
    log(`software WebGL (${name}): rendering at ${app.renderer.resolution}x resolution`);
  }

  function listen(target: EventTarget, type: string, fn: EventListener, options?: AddEventListenerOptions): void {
    target.addEventListener(type, fn, options);
    cleanups.push(() => target.removeEventListener(type, fn, options));
  }

  /**
   * Sets the loop to the policy's rate. At 60 fps and up the ticker runs on requestAnimationFrame
   * (vsync-aligned, pixi's maxFPS caps it). Below that a timer drives it: a rAF loop that skips
   * frames still wakes the page and its compositor at the display rate, which in software WebGL
   * costs nearly as much as drawing (npm run bench:render). Hidden: neither runs.
   */
  function applyFps(): void {
    if (destroyed || !app.ticker) return;
    const fps = policy.fps(document.hidden);
    if (fps === debug.fpsLimit && (fps === 0 || app.ticker.started || timer !== undefined)) return;
    debug.fpsLimit = fps;
    clearInterval(timer);
    timer = undefined;
    if (fps === 0) {
      app.ticker.stop();
      return;
    }
    if (fps >= RAF_FPS) {
      app.ticker.maxFPS = fps;
      if (!app.ticker.started) app.ticker.start();
      return;
    }
    app.ticker.stop();
    app.ticker.maxFPS = 0;
    app.ticker.lastTime = performance.now();
    timer = setInterval(() => app.ticker.update(performance.now()), 1000 / fps);
  }

  function onTick(ticker: Ticker): void {
    debug.frames++;
    if (current) current.model.update(ticker.deltaMS);
    if (!smoother.settled) policy.activity();
    if (policy.fps(document.hidden) !== debug.fpsLimit) applyFps();
  }

  /** Runs inside the model's update, after motions, expressions, physics and pose. */
  function writeMouth(this: void): void {
    const c = current;
    if (!c) return;
    // The engine has already consumed its own delta by now: time the hook itself.
    const now = performance.now();
    const dt = Math.min(250, lastMouthWrite === 0 ? 16 : now - lastMouthWrite);
    lastMouthWrite = now;
    let target: MouthShape | undefined;
    try {
      target = mouthSource?.();
    } catch (e) {
      log(`mouth source failed: ${errorText(e)}`);
    }
    const writing = mouthSource !== undefined || !smoother.settled;
    const m = smoother.step(target, dt);
    const ids = debug.mouthIds;
    if (writing) {
      c.params.set(ids.open, m.open);
      if (ids.form && m.formWeight > 0) {
        const base = c.params.get(ids.form);
        c.params.set(ids.form, base + (m.form - base) * m.formWeight * Math.min(1, m.open * 2));
      }
    }
    debug.params[ids.open] = c.params.get(ids.open);
    debug.mouthTrace.push([now, debug.params[ids.open]]);
    if (debug.mouthTrace.length > MAX_TRACE) debug.mouthTrace.shift();
    if (ids.form) debug.params[ids.form] = c.params.get(ids.form);
    for (const id of debug.watch) debug.params[id] = c.params.get(id);
  }

  function place(): void {
    if (!current || destroyed) return;
    const p = placement({ width: app.screen.width, height: app.screen.height }, current.natural, transform);
    current.model.position.set(p.x, p.y);
    current.model.scale.set(p.scale);
    policy.activity();
  }

  function toCanvas(e: PointerEvent | WheelEvent): { x: number; y: number } {
    const r = app.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  function onPointerMove(e: PointerEvent): void {
    if (!current) return;
    const p = toCanvas(e);
    current.model.focus(p.x, p.y);
    policy.activity();
    applyFps();
  }

  function onDragStart(e: PointerEvent): void {
    if (!current || e.button !== 0) return;
    const canvas = app.canvas;
    canvas.setPointerCapture?.(e.pointerId);
    let last = { x: e.clientX, y: e.clientY };
    const move = (ev: PointerEvent) => {
      transform = dragged(transform, ev.clientX - last.x, ev.clientY - last.y, app.screen);
      last = { x: ev.clientX, y: ev.clientY };
      place();
      applyFps();
    };
    const up = () => {
      canvas.removeEventListener('pointermove', move);
      canvas.removeEventListener('pointerup', up);
      canvas.removeEventListener('pointercancel', up);
      opts.onTransformChange?.(transform);
    };
    canvas.addEventListener('pointermove', move);
    canvas.addEventListener('pointerup', up);
    canvas.addEventListener('pointercancel', up);
  }

  function onWheel(e: WheelEvent): void {
    if (!current) return;
    e.preventDefault();
    const next = wheeled(transform, e.deltaY);
    if (sameTransform(next, transform)) return;
    transform = next;
    place();
    applyFps();
    opts.onTransformChange?.(transform);
  }

  function act(action: EmotionAction, why: string): void {
    const c = current;
    if (!c) return;
    const problem = actionProblem(c.info, action);
    if (problem) {
      log(`${why}: ${problem} (model ${c.info.id}); edit the emotion map`);
      return;
    }
    if (action.expression) {
      void c.model.expression(action.expression).then(
        (ok) => ok || log(`${why}: expression "${action.expression}" did not apply (model ${c.info.id})`),
        (e: unknown) => log(`${why}: expression "${action.expression}" failed: ${errorText(e)}`),
      );
    }
    if (action.motion) {
      const { group, index } = action.motion;
      void c.model.motion(group, index, MotionPriority.FORCE).catch((e: unknown) => log(`${why}: motion ${group}[${index ?? 'random'}] failed: ${errorText(e)}`));
    }
    policy.activity();
    applyFps();
  }

  async function load(info: ModelInfo): Promise<void> {
    const seq = ++loadSeq;
    await ready;
    if (current && current.info.id === info.id && current.info.url === info.url && !destroyed) {
      // The same model with new settings (emotion map, transform): no reload.
      current.info = info;
      debug.mouthIds = mouthIds(info, current.model);
      transform = clampTransform(info.transform);
      place();
      return;
    }
    if (initError !== undefined) {
      throw new AvatarLoadError(info.id, `the avatar has no WebGL canvas (${errorText(initError)}): enable hardware acceleration or WebGL`, { cause: initError });
    }
    if (destroyed) throw new AvatarLoadError(info.id, 'the avatar was destroyed before the model loaded');
    const idle = Object.keys(info.motions).find((g) => g.toLowerCase() === 'idle');
    let model: Live2DModel;
    try {
      model = await Live2DModel.from(info.url, {
        autoUpdate: false,
        autoHitTest: false,
        autoFocus: false,
        // A texture scaled to the size the model is drawn at (made once, on demand) instead of a
        // full mipmap chain: about 15% less CPU per frame in software WebGL (npm run bench:render).
        textureOptions: { lod: 'single-auto' },
        ...(idle ? { idleMotionGroup: idle } : {}),
      });
    } catch (e) {
      throw new AvatarLoadError(info.id, `model "${info.name}" (${info.url}) did not load: ${errorText(e)}; the previous model stays`, { cause: e });
    }
    if (seq !== loadSeq || destroyed) {
      model.destroy();
      if (destroyed) throw new AvatarLoadError(info.id, 'the avatar was destroyed before the model loaded');
      return; // a later load() superseded this one
    }
    const previous = current;
    model.anchor.set(0.5, 0.5);
    const natural = { width: model.width, height: model.height };
    current = { info, model, params: paramAccess(model), natural };
    debug.mouthIds = mouthIds(info, model);
    debug.params = {};
    smoother.reset();
    model.internalModel.on('beforeModelUpdate', writeMouth);
    transform = clampTransform(info.transform);
    app.stage.addChild(model);
    place();
    if (previous) {
      app.stage.removeChild(previous.model);
      previous.model.destroy();
    }
    log(`model ${info.id} loaded (Cubism ${info.cubism}, mouth ${debug.mouthIds.open})`);
    applyFps();
  }

  const avatar: Avatar = {
    load,
    setMouthSource(fn) {
      mouthSource = fn;
      policy.activity();
      applyFps();
    },
    emotion(tag) {
      const c = current;
      if (!c) {
        log(`emotion "${tag}" ignored: no model loaded yet`);
        return false;
      }
      const action = lookupEmotion(c.info.emotionMap, tag);
      if (!action) {
        log(`emotion "${normaliseTag(tag)}" has no mapping for model ${c.info.id}: nothing shown`);
        return false;
      }
      act(action, `emotion "${normaliseTag(tag)}"`);
      return true;
    },
    preview(action) {
      act(action, 'preview');
    },
    setTransform(t) {
      transform = clampTransform(t);
      place();
      applyFps();
    },
    setFpsCap(n) {
      policy.setCap(n);
      applyFps();
    },
    get model() {
      return current?.info;
    },
    debug,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      clearInterval(timer);
      timer = undefined;
      if (page.__favAvatar === avatar) delete page.__favAvatar;
      for (const off of cleanups.splice(0)) off();
      void ready.then(() => {
        current?.model.destroy();
        current = undefined;
        app.destroy({ removeView: true }, { children: true });
      });
    },
  };
  // The newest avatar of the page, read-only for tests and the bench (like window.__favVoice).
  const page = window as unknown as { __favAvatar?: Avatar };
  page.__favAvatar = avatar;
  return avatar;
}
