/**
 * Turns a claimed batch of messages (a coalesced burst, oldest first) into the steps of one turn:
 * consecutive text messages become one assistant request; commands and non-text messages each get
 * their own reply, in the order they arrived. `/human` and HANDOFF_KEYWORDS ask for a person;
 * OPT_OUT_KEYWORDS / OPT_IN_KEYWORDS (whole messages) opt out of and back into proactive messages.
 */
import type { ClaimedMessage } from '../inbox/claim.ts';
import type { Understood } from '../media/service.ts';
import { type KeywordSets, keywordIntent } from './keywords.ts';

/** One step of a turn. */
export type Step =
  | { readonly type: 'ask'; readonly messages: readonly ClaimedMessage[] }
  | { readonly type: 'command'; readonly name: 'start' | 'reset' | 'help'; readonly message: ClaimedMessage }
  | { readonly type: 'unsupported'; readonly kind: string; readonly message: ClaimedMessage }
  | { readonly type: 'handoff'; readonly trigger: 'command' | 'keyword'; readonly message: ClaimedMessage }
  | { readonly type: 'opt_out'; readonly message: ClaimedMessage }
  | { readonly type: 'opt_in'; readonly message: ClaimedMessage }
  /** Media WADI could not use (too large, gone, vision off…): answered with a notice. */
  | { readonly type: 'media'; readonly understood: Understood; readonly message: ClaimedMessage };

const TEXT_KINDS = new Set(['text', 'interactive', 'callback']);

/** The text a message contributes to the conversation. */
export function messageText(m: ClaimedMessage): string {
  return (m.event.text ?? '').trim();
}

function commandOf(m: ClaimedMessage): { name: string } | undefined {
  if (m.event.command) return { name: m.event.command.name.toLowerCase() };
  const t = messageText(m);
  const match = /^\/([a-zA-Z_]+)(?:@\w+)?(?:\s|$)/.exec(t);
  return match ? { name: match[1].toLowerCase() } : undefined;
}

/** Commands that ask for a person. */
const HANDOFF_COMMANDS = new Set(['human', 'humano', 'agente', 'agent']);

/**
 * Plans the steps of a turn. `understood` holds what the media step made of media messages: those
 * with derived text (a transcript, a document, an image for the model) join the run of text.
 * `keywords`: the deployment's handoff and opt-out words (none by default).
 */
export function planTurn(
  messages: readonly ClaimedMessage[],
  understood: ReadonlyMap<number, Understood> = new Map(),
  keywords?: KeywordSets,
): Step[] {
  const steps: Step[] = [];
  let run: ClaimedMessage[] = [];
  const flush = () => {
    if (run.length > 0) steps.push({ type: 'ask', messages: run });
    run = [];
  };
  for (const m of messages) {
    const u = understood.get(m.id);
    if (u) {
      if (u.text || u.imageUrl) run.push(m);
      else {
        flush();
        steps.push({ type: 'media', understood: u, message: m });
      }
      continue;
    }
    const cmd = m.kind === 'command' || messageText(m).startsWith('/') ? commandOf(m) : undefined;
    const intent = !cmd && keywords && TEXT_KINDS.has(m.kind) ? keywordIntent(messageText(m), keywords) : undefined;
    if (cmd && HANDOFF_COMMANDS.has(cmd.name)) {
      flush();
      steps.push({ type: 'handoff', trigger: 'command', message: m });
    } else if (intent === 'handoff') {
      flush();
      steps.push({ type: 'handoff', trigger: 'keyword', message: m });
    } else if (intent === 'opt_out' || intent === 'opt_in') {
      flush();
      steps.push(intent === 'opt_out' ? { type: 'opt_out', message: m } : { type: 'opt_in', message: m });
    } else if (cmd && (cmd.name === 'start' || cmd.name === 'reset' || cmd.name === 'help')) {
      flush();
      steps.push({ type: 'command', name: cmd.name, message: m });
    } else if (cmd) {
      // Unknown commands get the help text rather than an LLM guess.
      flush();
      steps.push({ type: 'command', name: 'help', message: m });
    } else if (TEXT_KINDS.has(m.kind) && messageText(m)) {
      run.push(m);
    } else {
      flush();
      steps.push({ type: 'unsupported', kind: m.kind, message: m });
    }
  }
  flush();
  return steps;
}
