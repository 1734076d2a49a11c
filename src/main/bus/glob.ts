/**
 * Redis's glob matcher (stringmatchlen) for KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET:
 * `*`, `?`, `[abc]`, `[^a-z]`, and `\x` escapes, over latin1 strings (one char per byte).
 * Written as an iterative matcher with single-star backtracking, so hostile patterns like
 * `*a*a*a*a*b` cannot blow the stack; `nocase` lowercases both sides like Redis's flag.
 */
export function globMatch(pattern: string, str: string, nocase = false): boolean {
  if (nocase) {
    pattern = pattern.toLowerCase();
    str = str.toLowerCase();
  }
  // Fast paths for the patterns clients use most.
  if (pattern === '*') return true;
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = -1;
  const plen = pattern.length;
  const slen = str.length;
  while (s < slen) {
    if (p < plen) {
      const pc = pattern.charCodeAt(p);
      if (pc === 42 /* * */) {
        while (p + 1 < plen && pattern.charCodeAt(p + 1) === 42) p++;
        if (p + 1 === plen) return true;
        starP = p++;
        starS = s;
        continue;
      }
      if (pc === 63 /* ? */) {
        p++;
        s++;
        continue;
      }
      if (pc === 91 /* [ */) {
        const r = matchClass(pattern, p, str.charCodeAt(s));
        if (r.matched) {
          p = r.next;
          s++;
          continue;
        }
      } else {
        let lit = pc;
        let adv = 1;
        if (pc === 92 /* \ */ && p + 1 < plen) {
          lit = pattern.charCodeAt(p + 1);
          adv = 2;
        }
        if (lit === str.charCodeAt(s)) {
          p += adv;
          s++;
          continue;
        }
      }
    }
    // Mismatch: backtrack to the last star, letting it swallow one more char.
    if (starP < 0) return false;
    p = starP + 1;
    s = ++starS;
  }
  while (p < plen && pattern.charCodeAt(p) === 42) p++;
  return p === plen;
}

/** Matches one char against the class starting at pattern[p] === '['. */
function matchClass(pattern: string, p: number, c: number): { matched: boolean; next: number } {
  const plen = pattern.length;
  p++;
  let not = false;
  if (p < plen && pattern.charCodeAt(p) === 94 /* ^ */) {
    not = true;
    p++;
  }
  let match = false;
  while (p < plen && pattern.charCodeAt(p) !== 93 /* ] */) {
    const pc = pattern.charCodeAt(p);
    if (pc === 92 && p + 1 < plen) {
      p++;
      if (pattern.charCodeAt(p) === c) match = true;
    } else if (p + 2 < plen && pattern.charCodeAt(p + 1) === 45 /* - */ && pattern.charCodeAt(p + 2) !== 93) {
      let start = pc;
      let end = pattern.charCodeAt(p + 2);
      if (start > end) [start, end] = [end, start];
      if (c >= start && c <= end) match = true;
      p += 2;
    } else if (pc === c) {
      match = true;
    }
    p++;
  }
  // Like Redis, an unterminated class ends at the pattern's end.
  const next = p < plen ? p + 1 : p;
  return { matched: not ? !match : match, next };
}
