/**
 * Live2D models as the gateway lists them and the renderer (studio, overlay) loads them: the one
 * shape both sides share. The gateway scans each model folder (built-in models copied at build
 * time, and models the streamer imported into the data dir), validates it, and answers with what a
 * page needs to draw it and drive it: where its model file is, its Cubism generation, what it can
 * show (expressions, motion groups, parameters), and the per-model settings the streamer saved
 * (emotion map, position and scale).
 */
import { z } from 'zod';

/** The emotion tags the pipeline emits (chat-ai's `[joy]`-style tags), in display order. */
export const EMOTIONS = ['neutral', 'joy', 'sad', 'angry', 'surprised', 'fear', 'disgust', 'shy', 'thinking'] as const;

/** What an emotion does to the model: an expression by name and/or a motion of a group. */
export const EmotionAction = z.object({
  expression: z.string().min(1).optional(),
  motion: z.object({ group: z.string(), index: z.number().int().nonnegative().optional() }).optional(),
});
export type EmotionAction = z.infer<typeof EmotionAction>;

/** Emotion tag -> action. A tag with no entry does nothing (and the renderer logs that it did nothing). */
export const EmotionMap = z.record(z.string().min(1).max(40), EmotionAction);
export type EmotionMap = z.infer<typeof EmotionMap>;

/** Where the model sits on its canvas: offset in canvas fractions from the centre, and a scale factor. */
export const ModelTransform = z.object({
  x: z.number().min(-2).max(2).default(0),
  y: z.number().min(-2).max(2).default(0),
  scale: z.number().min(0.05).max(10).default(1),
});
export type ModelTransform = z.infer<typeof ModelTransform>;

/** The per-model settings the streamer edits; stored beside the model in the data dir. */
export const ModelSettings = z.object({
  emotionMap: EmotionMap.optional(),
  transform: ModelTransform.optional(),
});
export type ModelSettings = z.infer<typeof ModelSettings>;

export const ModelInfo = z.object({
  /** Stable id: a folder name (kebab-case, unique). */
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
  name: z.string(),
  source: z.enum(['builtin', 'imported']),
  /** 2 for `.model.json` (Cubism 2.1); 3, 4 or 5 for `.model3.json` (read from the moc3 header). */
  cubism: z.union([z.literal(2), z.literal(3), z.literal(4), z.literal(5)]),
  /** URL of the model settings file, absolute path on the gateway (e.g. `/models/shizuku/shizuku.model.json`). */
  url: z.string().startsWith('/'),
  expressions: z.array(z.string()),
  /** Motion group -> number of motions in it. */
  motions: z.record(z.string(), z.number().int().nonnegative()),
  /** Parameter ids the model's files name (expressions, pose, lip sync and eye blink groups). */
  parameters: z.array(z.string()),
  /** The mouth parameters lip sync writes: open always, form where the model has one. */
  mouth: z.object({ open: z.string(), form: z.string().optional() }),
  emotionMap: EmotionMap,
  transform: ModelTransform,
});
export type ModelInfo = z.infer<typeof ModelInfo>;

export const ModelListResponse = z.object({
  models: z.array(ModelInfo),
  /** The model the studio and the overlay show. */
  selected: z.string(),
});
export type ModelListResponse = z.infer<typeof ModelListResponse>;

/** One problem found while validating a model folder, named so the streamer can fix it. */
export const ModelProblem = z.object({
  file: z.string(),
  message: z.string(),
});
export type ModelProblem = z.infer<typeof ModelProblem>;

/** Answer to a refused import: what is wrong, file by file. */
export const ModelImportError = z.object({
  error: z.string(),
  problems: z.array(ModelProblem),
});
export type ModelImportError = z.infer<typeof ModelImportError>;
