/**
 * Where the model sits on the canvas, without the DOM. A ModelTransform is resolution-free: x and
 * y are offsets from the canvas centre in canvas fractions, scale multiplies the size that fits
 * the model's own canvas into ours. Drag and wheel gestures change it; the result is clamped to
 * what ModelTransform accepts so it can always be saved.
 */
import type { ModelTransform } from '../../shared/models.js';

export interface Size {
  width: number;
  height: number;
}

export interface Placement {
  /** Pixel position of the model's centre (its anchor is 0.5, 0.5). */
  x: number;
  y: number;
  /** Pixi scale of the model. */
  scale: number;
}

/** Share of the canvas the model fills at scale 1 (a small margin around it). */
const FILL = 0.95;
/** Wheel notches are ~100 units of deltaY: one notch scales by ~10%. */
const WHEEL_RATE = 0.001;

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

export function clampTransform(t: ModelTransform): ModelTransform {
  const fin = (v: number, d: number) => (Number.isFinite(v) ? v : d);
  return { x: clamp(fin(t.x, 0), -2, 2), y: clamp(fin(t.y, 0), -2, 2), scale: clamp(fin(t.scale, 1), 0.05, 10) };
}

export function placement(canvas: Size, model: Size, t: ModelTransform): Placement {
  const c = clampTransform(t);
  const fit = model.width > 0 && model.height > 0 ? Math.min(canvas.width / model.width, canvas.height / model.height) : 1;
  return { x: canvas.width / 2 + c.x * canvas.width, y: canvas.height / 2 + c.y * canvas.height, scale: fit * FILL * c.scale };
}

/** After dragging by (dx, dy) CSS pixels on a canvas of `canvas` CSS pixels. */
export function dragged(t: ModelTransform, dx: number, dy: number, canvas: Size): ModelTransform {
  if (canvas.width <= 0 || canvas.height <= 0) return clampTransform(t);
  return clampTransform({ x: t.x + dx / canvas.width, y: t.y + dy / canvas.height, scale: t.scale });
}

/** After a wheel event of `deltaY` (down = smaller, up = larger). */
export function wheeled(t: ModelTransform, deltaY: number): ModelTransform {
  return clampTransform({ ...t, scale: t.scale * Math.exp(-deltaY * WHEEL_RATE) });
}

export function sameTransform(a: ModelTransform, b: ModelTransform): boolean {
  return a.x === b.x && a.y === b.y && a.scale === b.scale;
}
