/**
 * The avatar module: a Live2D model on a canvas, driven by lip sync, emotions and the pointer.
 * Pages that use it load the Cubism cores first (classic scripts /live2d/core/...).
 */
export { AvatarLoadError, createAvatar, type Avatar, type AvatarDebug, type AvatarOptions } from './avatar.js';
export { mouthOpenFromLevel, type MouthShape } from './mouth.js';
export { shapeMouth, VisemeTrack } from './visemes.js';
export { lookupEmotion, normaliseTag } from './emotion.js';
export { BUILTIN_SHIZUKU } from './builtin-models.js';
