/**
 * Serialises JSON the way Meta does for webhook bodies: every non-ASCII UTF-16 unit becomes a
 * lowercase `\uXXXX` escape (so emoji come out as escaped surrogate pairs) and `/` becomes `\/`.
 * Used by the simulator, the dashboard's Try it, load runs, tests and benchmarks to produce
 * bodies whose signatures match what Meta sends.
 */

/** `JSON.stringify` with Meta's escaped-unicode form. */
export function metaStringify(value: unknown): string {
  return JSON.stringify(value)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\//g, '\\/');
}
