/**
 * Python string semantics that lm-evaluation-harness relies on, reproduced for JS strings:
 * `str.isspace()` whitespace (wider than JS `\s` in some places, narrower in others), `len()` in code points,
 * `strip()/rstrip()`, and `re.split(r"\s+", s)`.
 */

/** Characters for which Python's `str.isspace()` is true (bidi class WS/B/S or category Zs). */
export const PY_WHITESPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
const WS = new Set(PY_WHITESPACE);
/** A regex character class equal to Python's `\s` on str patterns. */
export const PY_WS_CLASS = `[${[...PY_WHITESPACE].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")}]`;
const SPLIT_WS = new RegExp(`${PY_WS_CLASS}+`, "u");

/** Python `c.isspace()` for a single character. */
export function isPySpace(c: string): boolean {
  return WS.has(c);
}

/** Python `s.rstrip()` (no argument). */
export function pyRstrip(s: string): string {
  let end = s.length;
  while (end > 0 && WS.has(s[end - 1])) end--;
  return s.slice(0, end);
}

/** Python `s.lstrip()` (no argument). */
export function pyLstrip(s: string): string {
  let start = 0;
  while (start < s.length && WS.has(s[start])) start++;
  return s.slice(start);
}

/** Python `s.strip()` (no argument). */
export function pyStrip(s: string): string {
  return pyLstrip(pyRstrip(s));
}

/** Python `len(s)`: the number of code points (a JS astral character counts once). */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Python `len(re.split(r"\s+", s))`: leading/trailing whitespace each add an empty field, as in Python. */
export function pyWhitespaceSplitCount(s: string): number {
  return s.split(SPLIT_WS).length;
}

/** Python `len(s.encode("utf-8"))`. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}
