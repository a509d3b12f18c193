/**
 * Splitting for WhatsApp: `splitText` does the boundary work; this layer keeps a ``` monospace
 * block intact when a cut falls inside it: the block is closed at the end of one part and reopened
 * at the start of the next, and the code's indentation survives the cut.
 */
import { splitText } from '../split.ts';

/** Meta's limit for a text body. */
export const WHATSAPP_MAX_TEXT = 4096;

const FENCE = '```';
// Room for the fence that closes a part ("\n```") and the one that reopens the next ("```\n").
const FENCE_ROOM = 8;

/** Parts no longer than `limit`, each with balanced ``` blocks. */
export function splitForWhatsApp(text: string, limit = WHATSAPP_MAX_TEXT): string[] {
  if (text.trim().length <= limit && countFences(text) % 2 === 0) return splitText(text, { limit });
  const parts = splitText(text, { limit: Math.max(limit - FENCE_ROOM, 1), keepIndent: true });
  const out: string[] = [];
  let open = false;
  for (const p of parts) {
    let s = open ? `${FENCE}\n${p}` : p;
    if (countFences(p) % 2 === 1) open = !open;
    if (open) s = `${s}\n${FENCE}`;
    out.push(s);
  }
  return out;
}

function countFences(s: string): number {
  let n = 0;
  for (let i = s.indexOf(FENCE); i >= 0; i = s.indexOf(FENCE, i + FENCE.length)) n++;
  return n;
}
