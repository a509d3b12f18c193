/**
 * What the fake Graph API knows about templates and the customer-service window:
 * - `type: "template"` sends are validated as Meta does (name, `language.code`, body parameters:
 *   non-empty, ≤ 1024 characters, no newlines, tabs or more than four spaces in a row). When
 *   WHATSAPP_TEMPLATES_FILE is configured, its templates are the "approved" ones: another name or
 *   language gets 132001 and a wrong number of body parameters 132000, like an unapproved template.
 * - Free-form sends to a user whose last message the fake knows to be more than 24 h old get
 *   131047 (re-engagement message). The fake knows a user's last message from the dashboard's
 *   "Try it" and from `POST /sandbox/whatsapp/customer-window`; users it never heard of are
 *   treated as inside the window (most tests sign their webhooks themselves).
 */
import type { TemplateBook } from '../config/templates.ts';

/** WhatsApp's customer-service window. */
export const CUSTOMER_WINDOW_MS = 24 * 3600_000;

/** The fake's record of when each WhatsApp user last wrote. */
export class CustomerWindows {
  private readonly last = new Map<string, number>();

  /** Records that `waId` wrote at `at` (ms; default now). */
  noteInbound(waId: string, at = Date.now()): void {
    this.last.set(waId.replace(/^\+/, ''), at);
  }

  /** True when the fake knows `waId` last wrote more than 24 h before `now`. */
  closed(waId: string, now = Date.now()): boolean {
    const at = this.last.get(waId.replace(/^\+/, ''));
    return at !== undefined && now - at > CUSTOMER_WINDOW_MS;
  }

  /** When `waId` last wrote, if known (ms). */
  lastInbound(waId: string): number | undefined {
    return this.last.get(waId.replace(/^\+/, ''));
  }

  /** Forgets everything. */
  reset(): void {
    this.last.clear();
  }
}

/** A Meta error to answer with. */
export interface GraphRefusal {
  readonly code: number;
  readonly details: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const NAME = /^[a-z0-9_]{1,512}$/;
const LANGUAGE = /^[a-z]{2,3}(_[A-Z]{2,4})?$/;

/** Body parameters of a template send, or a refusal. */
function bodyParameters(components: unknown): string[] | GraphRefusal {
  if (components === undefined) return [];
  if (!Array.isArray(components)) return { code: 100, details: 'template.components must be an array' };
  const out: string[] = [];
  for (const c of components) {
    if (!isObj(c) || typeof c.type !== 'string') return { code: 100, details: 'each component needs a type' };
    const type = c.type.toLowerCase();
    if (!['header', 'body', 'footer', 'button'].includes(type)) {
      return { code: 100, details: `component type ${c.type} is not valid` };
    }
    if (c.parameters === undefined) continue;
    if (!Array.isArray(c.parameters)) return { code: 100, details: 'component.parameters must be an array' };
    for (const p of c.parameters) {
      if (!isObj(p) || p.type !== 'text' || typeof p.text !== 'string') {
        return { code: 100, details: 'the sandbox accepts text parameters only: {type: "text", text}' };
      }
      if (p.text.trim() === '') return { code: 132018, details: 'a parameter is empty' };
      if (p.text.length > 1024) return { code: 132005, details: 'a parameter is longer than 1024 characters' };
      if (/[\n\t]| {5,}/.test(p.text)) {
        return {
          code: 132018,
          details: 'parameters cannot have new-line/tab characters or more than 4 consecutive spaces',
        };
      }
      if (type === 'body') out.push(p.text);
    }
  }
  return out;
}

/** Checks a `type: "template"` send; undefined when Meta would accept it. */
export function checkTemplateSend(body: Obj, approved: TemplateBook | undefined): GraphRefusal | undefined {
  const t = body.template;
  if (!isObj(t)) return { code: 100, details: 'template is required for type template' };
  if (typeof t.name !== 'string' || !NAME.test(t.name)) {
    return { code: 100, details: 'template.name must be a template name (a-z, 0-9, _)' };
  }
  if (!isObj(t.language) || typeof t.language.code !== 'string' || !LANGUAGE.test(t.language.code)) {
    return { code: 100, details: 'template.language.code must be a language code such as es or en_US' };
  }
  const params = bodyParameters(t.components);
  if (!Array.isArray(params)) return params;
  if (!approved) return undefined;
  const entries = Object.values(approved).filter((e) => e !== undefined);
  const byName = entries.filter((e) => e.name === t.name);
  const code = t.language.code;
  const match = byName.find((e) => e.language === code || Object.values(e.languages ?? {}).includes(code));
  if (!match) {
    return { code: 132001, details: `template name (${t.name}) does not exist in ${code}` };
  }
  if (match.parameters.length !== params.length) {
    return {
      code: 132000,
      details: `number of parameters (${params.length}) does not match the expected number of params (${match.parameters.length})`,
    };
  }
  return undefined;
}
