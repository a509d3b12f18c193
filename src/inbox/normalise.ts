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

import { wellFormed } from '../kernel/text.ts';

/** Levels of objects/arrays kept in a stored event (the event itself uses four). */
export const MAX_STORED_DEPTH = 32;

/** Stands in for a container that was nested too deeply to keep. */
export const TOO_DEEP = `[removed: nested deeper than ${MAX_STORED_DEPTH} levels]`;

const NUL = /\u0000/g;

/** A string PostgreSQL accepts in text and jsonb (the least invasive rule: see src/kernel/text.ts). */
export function storableString(s: string): string {
  return wellFormed(s.replace(NUL, ''));
}

/** `value` with every string (keys included) storable and nesting capped; other values unchanged. */
export function normaliseForStorage<T>(value: T): T {
  return walk(value, 0) as T;
}

function walk(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return storableString(v);
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_STORED_DEPTH) return TOO_DEEP;
  if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[storableString(k)] = walk(x, depth + 1);
  return out;
}
