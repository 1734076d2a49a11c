/**
 * What the studio uploads to import a model: a .zip as it is, or a folder (dropped, or picked with a
 * directory picker) zipped here with fflate, so the gateway has one import path to validate. Folders
 * are read through the File and Entries APIs the browser gives for drops and pickers.
 */
import { zipSync, type Zippable } from 'fflate';

export interface UploadFile {
  /** Path inside the folder, forward slashes, the folder's own name first. */
  path: string;
  file: File;
}

export type Upload = { kind: 'zip'; name: string; blob: Blob } | { kind: 'folder'; name: string; files: UploadFile[] };

function isZip(file: File): boolean {
  return /\.zip$/i.test(file.name);
}

/** Every file under a dropped directory entry (readEntries answers in batches until an empty one). */
async function walkEntry(entry: FileSystemEntry, prefix: string, out: UploadFile[]): Promise<void> {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path, file });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) await walkEntry(child, path, out);
  }
}

/** The upload a drop carries: one .zip, or a folder. Undefined with nothing usable (a stray text drag). */
export async function uploadFromDrop(dt: DataTransfer): Promise<Upload | undefined> {
  // Entries must be taken synchronously, before the first await: the DataTransfer empties after the event.
  const entries = [...dt.items].map((i) => (i.kind === 'file' ? i.webkitGetAsEntry?.() : null)).filter((e): e is FileSystemEntry => !!e);
  const files = [...dt.files];
  const dir = entries.find((e) => e.isDirectory);
  if (dir) {
    const out: UploadFile[] = [];
    await walkEntry(dir, '', out);
    return { kind: 'folder', name: dir.name, files: out };
  }
  const zip = files.find(isZip);
  if (zip) return { kind: 'zip', name: zip.name, blob: zip };
  if (files.length > 0) return { kind: 'folder', name: 'model', files: files.map((f) => ({ path: f.name, file: f })) };
  return undefined;
}

/** The upload of a file input: a .zip, or the files of a directory picker (`webkitdirectory`). */
export function uploadFromInput(list: FileList | readonly File[]): Upload | undefined {
  const files = [...list];
  if (files.length === 0) return undefined;
  if (files.length === 1 && isZip(files[0])) return { kind: 'zip', name: files[0].name, blob: files[0] };
  const paths = files.map((f) => f.webkitRelativePath || f.name);
  const name = paths[0].includes('/') ? paths[0].split('/')[0] : 'model';
  return { kind: 'folder', name, files: files.map((file, i) => ({ path: paths[i], file })) };
}

/** The bytes to POST: a zip as given, a folder zipped (textures are PNGs already: no deflate effort spent). */
export async function uploadBody(upload: Upload): Promise<{ name: string; body: Blob }> {
  if (upload.kind === 'zip') return { name: upload.name, body: upload.blob };
  const tree: Zippable = {};
  for (const f of upload.files) tree[f.path] = [new Uint8Array(await f.file.arrayBuffer()), { level: 0 }];
  const zip = zipSync(tree);
  return { name: `${upload.name}.zip`, body: new Blob([zip], { type: 'application/zip' }) };
}
