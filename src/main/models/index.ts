export { ModelLibrary, ModelNotFound, ModelRefused, DEFAULT_MODEL, type ModelLibraryOptions } from './library.js';
export { ModelImportFailure, DEFAULT_ZIP_LIMITS, formatBytes, type ZipLimits } from './zip-reader.js';
export { proposeEmotionMap } from './emotion-map.js';
export { scanModel, findModelFile, type ModelScan } from './scan.js';
export { folderFiles, memoryFiles, type ModelFiles } from './model-files.js';
