/**
 * Makes an inbound event storable before it reaches PostgreSQL: text columns and jsonb refuse
 * U+0000, jsonb refuses lone surrogates (`\udc00`), and deep nesting exhausts the JSON parser's
 * stack. Meta and Telegram relay whatever users (or attackers) send, so the writer normalises:
 *
 * - U+0000 is dropped (it carries nothing a person can see);
 * - a lone surrogate becomes U+FFFD, the replacement character, as any UTF-8 encoder would;
 * - containers nested deeper than MAX_STORED_DEPTH are replaced by a marker string.
 *
 * The same input always normalises to the same output, so dedupe keys stay stable across
 * redeliveries.
 */

/** Levels of objects/arrays kept in a stored event (the event itself uses four). */
export const MAX_STORED_DEPTH = 32;

/** Stands in for a container that was nested too deeply to keep. */
export const TOO_DEEP = `[removed: nested deeper than ${MAX_STORED_DEPTH} levels]`;

const NUL = /\u0000/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A string PostgreSQL accepts in text and jsonb. */
export function storableString(s: string): string {
  // Almost every string is fine already: two native scans instead of two regex replacements.
  if (s.indexOf('\u0000') === -1 && (s as WellFormed).isWellFormed()) return s;
  return s.replace(NUL, '').replace(LONE_SURROGATE, '\uFFFD');
}

/** ES2024's String.prototype.isWellFormed (Node 20+), not yet in the ES2023 lib. */
type WellFormed = string & { isWellFormed(): boolean };

/**
 * `value` with every string (keys included) storable and nesting capped; other values unchanged.
 * Containers with nothing to change are returned as they are (no copy).
 */
export function normaliseForStorage<T>(value: T): T {
  return walk(value, 0) as T;
}

function walk(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return storableString(v);
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_STORED_DEPTH) return TOO_DEEP;
  if (Array.isArray(v)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      const y = walk(x, depth + 1);
      if (copy === undefined && y !== x) copy = v.slice(0, i);
      copy?.push(y);
    }
    return copy ?? v;
  }
  const keys = Object.keys(v);
  const src = v as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const x = src[k];
    const k2 = storableString(k);
    const y = walk(x, depth + 1);
    if (copy === undefined && (k2 !== k || y !== x)) {
      copy = {};
      for (let j = 0; j < i; j++) copy[keys[j]] = src[keys[j]];
    }
    if (copy !== undefined) copy[k2] = y;
  }
  return copy ?? v;
}
