/**
 * Recognising what a user asks for in plain words: a person (HANDOFF_KEYWORDS, e.g. "quiero
 * hablar con un agente"), to stop proactive messages (OPT_OUT_KEYWORDS, e.g. "BAJA") or to start
 * them again (OPT_IN_KEYWORDS, e.g. "ALTA"). Matching ignores case, accents and surrounding
 * punctuation ("¡Agente!" matches "agente"); handoff keywords match as whole words anywhere in the
 * message, opt-out and opt-in keywords only as the whole message, as SMS carriers do, so that
 * "stop sending me the menu" or "la fiebre es alta" are ordinary messages.
 */

/** Lowercase, accents removed, runs of anything but letters and digits turned into one space. */
export function normalizeWords(text: string): string {
  return (
    text
      .normalize('NFKD')
      // Combining marks (the accents NFKD split off) go; letters and digits of any script stay.
      .replace(/\p{M}+/gu, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}]+/gu, ' ')
      .trim()
  );
}

/** A keyword list ready for matching: normalised, empty entries and duplicates dropped. */
export function keywordList(words: readonly string[]): string[] {
  return [...new Set(words.map(normalizeWords).filter(Boolean))];
}

/** True when one of `keywords` (normalised, see keywordList) occurs in `text` as whole words. */
export function containsKeyword(text: string, keywords: readonly string[]): boolean {
  if (keywords.length === 0) return false;
  const padded = ` ${normalizeWords(text)} `;
  return keywords.some((k) => padded.includes(` ${k} `));
}

/** True when `text`, apart from case, accents and punctuation, is exactly one of `keywords`. */
export function isKeyword(text: string, keywords: readonly string[]): boolean {
  if (keywords.length === 0) return false;
  // A long message is a conversation, not a keyword; skip normalising it.
  if (text.length > 200) return false;
  const n = normalizeWords(text);
  return n !== '' && keywords.includes(n);
}

/** What a message asks of WADI itself, if anything (checked before the assistant sees it). */
export type KeywordIntent = 'handoff' | 'opt_out' | 'opt_in';

/** The keyword lists of one deployment, normalised once. */
export interface KeywordSets {
  readonly handoff: readonly string[];
  readonly optOut: readonly string[];
  readonly optIn: readonly string[];
}

/** Builds the keyword sets from the configured lists. */
export function keywordSets(cfg: {
  handoff: readonly string[];
  optOut: readonly string[];
  optIn: readonly string[];
}): KeywordSets {
  return { handoff: keywordList(cfg.handoff), optOut: keywordList(cfg.optOut), optIn: keywordList(cfg.optIn) };
}

/**
 * The keyword a notice should tell the user to send, in capitals: the locale's usual word when the
 * deployment accepts it (ALTA/BAJA in Spanish, START/STOP in English), else the first configured
 * one; undefined when the list is empty (that way back is switched off, so the notice names none).
 */
export function keywordToName(list: readonly string[], preferred: readonly string[]): string | undefined {
  const word = preferred.find((w) => list.includes(w)) ?? list[0];
  return word?.toUpperCase();
}

/**
 * The intent of a text message: opt-out and opt-in first (a whole-message keyword is
 * unambiguous), then a request for a person.
 */
export function keywordIntent(text: string, sets: KeywordSets): KeywordIntent | undefined {
  if (isKeyword(text, sets.optOut)) return 'opt_out';
  if (isKeyword(text, sets.optIn)) return 'opt_in';
  if (containsKeyword(text, sets.handoff)) return 'handoff';
  return undefined;
}
