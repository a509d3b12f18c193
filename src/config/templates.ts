/**
 * WHATSAPP_TEMPLATES_FILE: which approved WhatsApp templates stand in for WADI's messages once the
 * 24 h customer-service window is closed (Meta only accepts templates then). A JSON object keyed
 * by what WADI was about to send:
 *
 * ```json
 * {
 *   "reply":    { "name": "wadi_reply_ready", "language": "es", "parameters": ["{{name}}"] },
 *   "notice":   { "name": "wadi_service_notice", "language": "es", "parameters": ["{{text}}"] },
 *   "operator": { "name": "wadi_agent_followup", "language": "es", "languages": { "en": "en_US" },
 *                 "parameters": ["{{name}}", "{{text}}"] }
 * }
 * ```
 * `reply` stands for an assistant answer, `notice` for WADI's own texts (handoff, outage and
 * opt-out notices), `operator` for an operator's message. Parameters are the template body's
 * `{{1}}`, `{{2}}`…, in order; `{{text}}` is the message WADI could not send and `{{name}}` the
 * user's display name. `languages` picks the template language by the conversation's locale.
 * Parsed once at start (config problems otherwise); nothing reads the file afterwards.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** What WADI was about to send when the window was closed. */
export const TEMPLATE_PURPOSES = ['reply', 'notice', 'operator'] as const;
/** One of TEMPLATE_PURPOSES. */
export type TemplatePurpose = (typeof TEMPLATE_PURPOSES)[number];

/** Meta's template names: lowercase letters, digits and underscores, at most 512 characters. */
export const TEMPLATE_NAME = /^[a-z0-9_]{1,512}$/;
/** Meta's template language codes: `es`, `en_US`, `pt_BR`, `zh_CN`… */
export const TEMPLATE_LANGUAGE = /^[a-z]{2,3}(_[A-Z]{2,4})?$/;
/** Meta's limit for one body parameter. */
export const TEMPLATE_PARAMETER_MAX = 1024;

const name = z.string().regex(TEMPLATE_NAME, 'must be an approved template name: a-z, 0-9 and _');
const language = z.string().regex(TEMPLATE_LANGUAGE, 'must be a WhatsApp language code such as es or en_US');

const entry = z.strictObject({
  name,
  language,
  languages: z.partialRecord(z.enum(['es', 'en']), language).optional(),
  parameters: z.array(z.string().max(TEMPLATE_PARAMETER_MAX)).max(20).default([]),
});

/** The file's shape. */
export const templatesFileSchema = z.strictObject({
  reply: entry.optional(),
  notice: entry.optional(),
  operator: entry.optional(),
});

/** The parsed file. */
export type TemplateBook = z.output<typeof templatesFileSchema>;

/** A template send: what the Graph API receives as `template`. */
export interface TemplateSend {
  readonly name: string;
  readonly language: string;
  /** The body parameters `{{1}}`, `{{2}}`…, already filled in. */
  readonly parameters: readonly string[];
}

/** Reads and checks the file; throws an Error whose message says what is wrong, line by line. */
export function loadTemplatesFile(file: string): TemplateBook {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file} as JSON: ${(err as Error).message}`);
  }
  const parsed = templatesFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/**
 * Meta refuses body parameters with newlines, tabs or more than four spaces in a row, empty ones
 * and ones over 1024 characters: flatten, trim and cut (at a code point, never inside a pair).
 */
export function templateParameter(text: string): string {
  const flat = text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/ {4,}/g, '   ')
    .trim();
  const chars = Array.from(flat);
  const cut = chars.length > TEMPLATE_PARAMETER_MAX ? `${chars.slice(0, TEMPLATE_PARAMETER_MAX - 1).join('')}…` : flat;
  return cut === '' ? '-' : cut;
}

/** The template standing in for a `purpose` message, filled in; undefined when none is configured. */
export function templateFor(
  book: TemplateBook | undefined,
  purpose: TemplatePurpose,
  values: { readonly text: string; readonly name?: string | null; readonly locale: 'es' | 'en' },
): TemplateSend | undefined {
  const e = book?.[purpose];
  if (!e) return undefined;
  const fill = (p: string) =>
    templateParameter(
      p.replace(/\{\{\s*(text|name)\s*\}\}/g, (_m, k: string) => (k === 'text' ? values.text : (values.name ?? ''))),
    );
  return { name: e.name, language: e.languages?.[values.locale] ?? e.language, parameters: e.parameters.map(fill) };
}

/** The purpose of an outbox row by its kind: operator messages, WADI's notices, everything else a reply. */
export function purposeOfKind(kind: string): TemplatePurpose {
  if (kind === 'operator') return 'operator';
  if (kind === 'notice') return 'notice';
  return 'reply';
}
