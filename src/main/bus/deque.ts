/**
 * A growable ring buffer: O(1) push/pop at both ends and O(1) indexed reads. Backs Redis lists
 * (Array.prototype.shift is O(n) and would make RPOP/LPOP queues quadratic).
 * Invariant: capacity (buf.length) is a power of two; elements live at (head + i) & mask.
 */
export class Deque<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private len = 0;
  private mask: number;

  constructor(initialCapacity = 4) {
    let cap = 4;
    while (cap < initialCapacity) cap <<= 1;
    this.buf = new Array<T | undefined>(cap);
    this.mask = cap - 1;
  }

  get length(): number {
    return this.len;
  }

  private grow(): void {
    const old = this.buf;
    const cap = old.length;
    const next = new Array<T | undefined>(cap * 2);
    for (let i = 0; i < this.len; i++) next[i] = old[(this.head + i) & this.mask];
    this.buf = next;
    this.head = 0;
    this.mask = cap * 2 - 1;
  }

  pushBack(v: T): void {
    if (this.len === this.buf.length) this.grow();
    this.buf[(this.head + this.len) & this.mask] = v;
    this.len++;
  }

  pushFront(v: T): void {
    if (this.len === this.buf.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.buf[this.head] = v;
    this.len++;
  }

  popFront(): T | undefined {
    if (this.len === 0) return undefined;
    const v = this.buf[this.head];
    this.buf[this.head] = undefined; // release the reference for GC
    this.head = (this.head + 1) & this.mask;
    this.len--;
    return v;
  }

  popBack(): T | undefined {
    if (this.len === 0) return undefined;
    const idx = (this.head + this.len - 1) & this.mask;
    const v = this.buf[idx];
    this.buf[idx] = undefined;
    this.len--;
    return v;
  }

  /** Element at index i (0-based from the front), undefined when out of range. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.len) return undefined;
    return this.buf[(this.head + i) & this.mask];
  }

  set(i: number, v: T): void {
    if (i < 0 || i >= this.len) throw new RangeError('index out of range');
    this.buf[(this.head + i) & this.mask] = v;
  }

  /** Elements [start, end] inclusive, already clamped by the caller. */
  slice(start: number, end: number): T[] {
    const out: T[] = [];
    for (let i = start; i <= end; i++) out.push(this.buf[(this.head + i) & this.mask] as T);
    return out;
  }

  /** Keeps only the elements for which keep() is true, in order; returns how many were removed. */
  filter(keep: (v: T, i: number) => boolean): number {
    const kept: T[] = [];
    for (let i = 0; i < this.len; i++) {
      const v = this.buf[(this.head + i) & this.mask] as T;
      if (keep(v, i)) kept.push(v);
    }
    const removed = this.len - kept.length;
    if (removed === 0) return 0;
    this.clear();
    for (const v of kept) this.pushBack(v);
    return removed;
  }

  clear(): void {
    this.buf = new Array<T | undefined>(4);
    this.head = 0;
    this.len = 0;
    this.mask = 3;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.len; i++) yield this.buf[(this.head + i) & this.mask] as T;
  }
}
