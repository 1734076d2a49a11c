/**
 * Container recognition from magic bytes (clients' content types are hints at best), and structural
 * checks of WebM/Matroska and Ogg files.
 *
 * The demuxer (mediabunny) is forgiving: it stops quietly at the first damaged spot and returns
 * the packets before it, so a cut-off or half-garbage upload would be transcribed in part without
 * anyone noticing. The walkers here go through every element (EBML) or page (Ogg, CRC included)
 * and say where the file stops making sense.
 */

export type Container =
  | 'wav'
  | 'webm' // Matroska / WebM (EBML)
  | 'ogg'
  | 'mp3'
  | 'mp4' // ISO BMFF: MP4, M4A, MOV, 3GP
  | 'flac'
  | 'aac' // ADTS
  | 'aiff'
  | 'caf'
  | 'amr'
  | 'midi';

/** Human names, for messages. */
export const CONTAINER_NAMES: Record<Container, string> = {
  wav: 'WAV',
  webm: 'WebM/Matroska',
  ogg: 'Ogg',
  mp3: 'MP3',
  mp4: 'MP4/M4A',
  flac: 'FLAC',
  aac: 'AAC (ADTS)',
  aiff: 'AIFF',
  caf: 'Core Audio (CAF)',
  amr: 'AMR',
  midi: 'MIDI',
};

const ascii = (b: Uint8Array, off: number, len: number) =>
  off + len <= b.length ? Buffer.from(b.buffer, b.byteOffset + off, len).toString('latin1') : '';

/**
 * Recognises a container from its first bytes. MP3 needs the frame walker (mp3.ts) because a bare
 * frame sync is two bytes; `isMp3` is passed in to keep this module free of the decoder.
 */
export function sniffContainer(b: Uint8Array, isMp3: (b: Uint8Array) => boolean): Container | undefined {
  if (b.length < 4) return undefined;
  const m4 = ascii(b, 0, 4);
  if ((m4 === 'RIFF' || m4 === 'RIFX' || m4 === 'RF64') && ascii(b, 8, 4) === 'WAVE') return 'wav';
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'webm';
  if (m4 === 'OggS') return 'ogg';
  if (m4 === 'fLaC') return 'flac';
  if (m4 === 'FORM' && (ascii(b, 8, 4) === 'AIFF' || ascii(b, 8, 4) === 'AIFC')) return 'aiff';
  if (m4 === 'caff') return 'caf';
  if (m4 === 'MThd') return 'midi';
  if (ascii(b, 0, 5) === '#!AMR') return 'amr';
  if (ascii(b, 4, 4) === 'ftyp') return 'mp4';
  // ID3v2 tags precede MP3 almost always (a tagged file whose frames are missing is a broken MP3).
  if (m4.startsWith('ID3') || isMp3(b)) return 'mp3';
  if (b[0] === 0xff && (b[1]! & 0xf6) === 0xf0 && b.length >= 7) return 'aac';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// EBML (WebM / Matroska)

export interface StructureProblem {
  kind: 'truncated' | 'junk';
  /** Byte offset where the problem starts. */
  offset: number;
  detail: string;
}

const EBML_HEADER = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const CLUSTER = 0x1f43b675;
/** Level-1 children of a Segment. */
const SEGMENT_CHILDREN = new Set([
  0x114d9b74, // SeekHead
  0x1549a966, // Info
  0x1654ae6b, // Tracks
  CLUSTER,
  0x1c53bb6b, // Cues
  0x1254c367, // Tags
  0x1043a770, // Chapters
  0x1941a469, // Attachments
  0xec, // Void
  0xbf, // CRC-32
]);
/** Children of a Cluster. */
const CLUSTER_CHILDREN = new Set([
  0xe7, // Timestamp
  0xa3, // SimpleBlock
  0xa0, // BlockGroup
  0xa7, // Position
  0xab, // PrevSize
  0x5854, // SilentTracks
  0xaf, // EncryptedBlock
  0xec, // Void
  0xbf, // CRC-32
]);
/** Level-0 elements after the segment (some muxers append a second EBML header + segment). */
const TOP_LEVEL = new Set([EBML_HEADER, SEGMENT, 0xec]);

interface Vint {
  value: number;
  length: number;
  /** All value bits set: "unknown size". */
  unknown: boolean;
}

function readVint(b: Uint8Array, off: number, keepMarker: boolean): Vint | undefined {
  if (off >= b.length) return undefined;
  const first = b[off]!;
  if (first === 0) return undefined;
  const length = Math.clz32(first) - 23; // 1..8
  if (off + length > b.length) return undefined;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = (first & (0xff >> length)) === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = value * 256 + b[off + i]!;
    if (b[off + i] !== 0xff) allOnes = false;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

/**
 * Walks a WebM/Matroska file: the EBML header, then each Segment's level-1 elements, and inside
 * each Cluster its blocks. Returns the first problem found (an element running past the end of the
 * file, or bytes that are no element expected there), or undefined when the file is whole.
 * Live recordings (MediaRecorder) use unknown-size Segments and Clusters: those end at the next
 * element of their parent's level or at the end of the file.
 */
export function checkEbml(b: Uint8Array): StructureProblem | undefined {
  let off = 0;
  while (off < b.length) {
    const el = readElement(b, off);
    if (!el) return junkOrTruncated(b, off, 'a top-level element');
    if (!TOP_LEVEL.has(el.id)) return { kind: 'junk', offset: off, detail: `unexpected top-level element 0x${el.id.toString(16)}` };
    if (el.id !== SEGMENT) {
      if (el.unknown) return { kind: 'junk', offset: off, detail: 'an EBML header of unknown size' };
      if (el.end > b.length) return truncated(off, el.end, b.length, 'the EBML header');
      off = el.end;
      continue;
    }
    const problem = walkSegment(b, el.body, el.unknown ? b.length : el.end);
    if (problem) return problem;
    if (!el.unknown && el.end > b.length) return truncated(off, el.end, b.length, 'the Segment');
    off = el.unknown ? b.length : el.end;
  }
  return undefined;
}

interface Element {
  id: number;
  body: number;
  end: number;
  unknown: boolean;
}

function readElement(b: Uint8Array, off: number): Element | undefined {
  const id = readVint(b, off, true);
  if (!id || id.length > 4) return undefined;
  const size = readVint(b, off + id.length, false);
  if (!size) return undefined;
  const body = off + id.length + size.length;
  return { id: id.value, body, end: size.unknown ? Infinity : body + size.value, unknown: size.unknown };
}

function walkSegment(b: Uint8Array, start: number, end: number): StructureProblem | undefined {
  let off = start;
  while (off < end) {
    const el = readElement(b, off);
    if (!el) return junkOrTruncated(b, off, 'a Segment element');
    if (!SEGMENT_CHILDREN.has(el.id)) {
      return { kind: 'junk', offset: off, detail: `bytes at ${off} are no Matroska element (id 0x${el.id.toString(16)})` };
    }
    if (el.id === CLUSTER) {
      const clusterEnd = el.unknown ? end : el.end;
      const r = walkCluster(b, el.body, Math.min(clusterEnd, b.length), end);
      if (typeof r !== 'number') return r;
      if (!el.unknown && el.end > b.length) return truncated(off, el.end, b.length, 'a Cluster');
      off = el.unknown ? r : el.end;
      continue;
    }
    if (el.unknown) return { kind: 'junk', offset: off, detail: `element 0x${el.id.toString(16)} of unknown size` };
    if (el.end > end) return truncated(off, el.end, b.length, `element 0x${el.id.toString(16)}`);
    off = el.end;
  }
  return undefined;
}

/** Returns where the cluster ended (for unknown sizes: at the next level-1 element), or a problem. */
function walkCluster(b: Uint8Array, start: number, end: number, segmentEnd: number): number | StructureProblem {
  let off = start;
  while (off < end) {
    const el = readElement(b, off);
    if (!el) return junkOrTruncated(b, off, 'a Cluster element');
    if (SEGMENT_CHILDREN.has(el.id) && !CLUSTER_CHILDREN.has(el.id)) return off; // next level-1 element
    if (!CLUSTER_CHILDREN.has(el.id)) {
      return { kind: 'junk', offset: off, detail: `bytes at ${off} are no Matroska block (id 0x${el.id.toString(16)})` };
    }
    if (el.unknown) return { kind: 'junk', offset: off, detail: `block element 0x${el.id.toString(16)} of unknown size` };
    if (el.end > b.length) return truncated(off, el.end, b.length, 'a block');
    if (el.end > segmentEnd) return { kind: 'junk', offset: off, detail: 'a block runs past its Segment' };
    off = el.end;
  }
  return off;
}

function junkOrTruncated(b: Uint8Array, off: number, what: string): StructureProblem {
  // An element header that would need bytes past the end is a cut-off file; anything else is junk.
  if (b.length - off < 12) return { kind: 'truncated', offset: off, detail: `the file ends inside ${what} header` };
  return { kind: 'junk', offset: off, detail: `bytes at ${off} are no valid ${what}` };
}

function truncated(off: number, needed: number, have: number, what: string): StructureProblem {
  return { kind: 'truncated', offset: off, detail: `${what} at byte ${off} needs ${needed - have} more bytes than the file has` };
}

// ---------------------------------------------------------------------------------------------
// Ogg

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

function oggCrc(b: Uint8Array, start: number, end: number, crcAt: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    const byte = i >= crcAt && i < crcAt + 4 ? 0 : b[i]!;
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  }
  return crc;
}

/**
 * Walks every Ogg page: capture pattern, page length within the file, CRC-32, and page sequence
 * numbers without gaps per stream. Returns the first problem, or undefined when the file is whole.
 */
export function checkOgg(b: Uint8Array): StructureProblem | undefined {
  let off = 0;
  const nextSeq = new Map<number, number>();
  while (off < b.length) {
    if (ascii(b, off, 4) !== 'OggS') {
      if (b.length - off < 4) return { kind: 'truncated', offset: off, detail: 'the file ends inside an Ogg page header' };
      return { kind: 'junk', offset: off, detail: `bytes at ${off} are no Ogg page` };
    }
    if (off + 27 > b.length) return { kind: 'truncated', offset: off, detail: 'the file ends inside an Ogg page header' };
    const nSegs = b[off + 26]!;
    if (off + 27 + nSegs > b.length) return { kind: 'truncated', offset: off, detail: 'the file ends inside an Ogg page header' };
    let bodyLen = 0;
    for (let i = 0; i < nSegs; i++) bodyLen += b[off + 27 + i]!;
    const end = off + 27 + nSegs + bodyLen;
    if (end > b.length) return { kind: 'truncated', offset: off, detail: `the Ogg page at byte ${off} needs ${end - b.length} more bytes than the file has` };
    const v = new DataView(b.buffer, b.byteOffset + off, 27);
    const serial = v.getUint32(14, true);
    const seq = v.getUint32(18, true);
    const crc = v.getUint32(22, true);
    if (oggCrc(b, off, end, off + 22) !== crc) return { kind: 'junk', offset: off, detail: `the Ogg page at byte ${off} fails its checksum` };
    const expected = nextSeq.get(serial);
    if (expected !== undefined && seq !== expected) {
      return { kind: 'junk', offset: off, detail: `Ogg pages ${expected}..${seq - 1} of stream ${serial} are missing` };
    }
    nextSeq.set(serial, seq + 1);
    off = end;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// ISO BMFF (MP4 / M4A / MOV; Chromium's MediaRecorder writes fragmented MP4)

/**
 * Walks the top-level boxes: each must have a printable four-character type and fit in the file
 * (a box of size 0 runs to the end). Returns the first problem, or undefined when the file is whole.
 */
export function checkIsoBmff(b: Uint8Array): StructureProblem | undefined {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 0;
  while (off < b.length) {
    if (off + 8 > b.length) return { kind: 'truncated', offset: off, detail: 'the file ends inside a box header' };
    let size = v.getUint32(off);
    for (let i = 4; i < 8; i++) {
      const c = b[off + i]!;
      if (c < 0x20 || c > 0x7e) return { kind: 'junk', offset: off, detail: `bytes at ${off} are no MP4 box` };
    }
    let header = 8;
    if (size === 1) {
      if (off + 16 > b.length) return { kind: 'truncated', offset: off, detail: 'the file ends inside a box header' };
      size = v.getUint32(off + 8) * 2 ** 32 + v.getUint32(off + 12);
      header = 16;
    } else if (size === 0) {
      return undefined; // runs to the end of the file
    }
    if (size < header) return { kind: 'junk', offset: off, detail: `the box at byte ${off} has an impossible size (${size})` };
    if (off + size > b.length) {
      return { kind: 'truncated', offset: off, detail: `the '${ascii(b, off + 4, 4)}' box at byte ${off} needs ${off + size - b.length} more bytes than the file has` };
    }
    off += size;
  }
  return undefined;
}
