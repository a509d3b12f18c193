/**
 * One walk over the mdast tree, shared by both channels; a `Dialect` says how each construct is
 * written (WhatsApp markup or Telegram HTML). Chat apps have no headings, tables or nested quotes,
 * so the walk turns those into what reads well in a chat bubble: headings become bold lines,
 * tables become one line per row, lists become marker lines, nested quotes flatten into one.
 */
import type { Definition, List, ListItem, Nodes, PhrasingContent, Root, RootContent, Table, TableCell } from 'mdast';
import type { LiteralText } from './markdown.ts';

/** How a channel writes each construct. Inputs are already rendered (and escaped) text. */
export interface Dialect {
  /** Plain text, escaped as the channel needs. */
  text(s: string): string;
  /** Text that must show literally (a dunder name). */
  literal(s: string): string;
  strong(inner: string): string;
  emphasis(inner: string): string;
  strike(inner: string): string;
  inlineCode(value: string): string;
  /** A link; `label` is rendered, `plainLabel` is its visible text. */
  link(label: string, url: string, plainLabel: string): string;
  codeBlock(value: string, lang: string | undefined, inQuote: boolean): string;
  quote(inner: string): string;
  readonly bullet: string;
  readonly rule: string;
  /**
   * True when emphasis markers only work at word boundaries (WhatsApp): a span glued to a letter
   * or digit is written without markers rather than showing them as stray characters.
   */
  readonly boundaryMarkers: boolean;
}

interface Ctx {
  readonly strong: boolean;
  readonly emphasis: boolean;
  readonly strike: boolean;
  readonly link: boolean;
  readonly quote: boolean;
  readonly defs: ReadonlyMap<string, Definition>;
}

/** A rendered inline piece; `bare` is the same content without this piece's own markers. */
interface Piece {
  readonly out: string;
  readonly bare?: string;
}

const WORD_CHAR = /[\p{L}\p{N}]/u;

/** Renders a parsed tree with `dialect`. */
export function renderTree(tree: Root, dialect: Dialect): string {
  const defs = new Map<string, Definition>();
  collectDefinitions(tree, defs);
  const ctx: Ctx = { strong: false, emphasis: false, strike: false, link: false, quote: false, defs };
  return blocks(tree.children, ctx, dialect, true).trim();
}

function collectDefinitions(node: Nodes, defs: Map<string, Definition>): void {
  if (node.type === 'definition') defs.set(node.identifier.toLowerCase(), node);
  if ('children' in node) for (const c of node.children as Nodes[]) collectDefinitions(c, defs);
}

function blocks(children: readonly RootContent[], ctx: Ctx, d: Dialect, spread: boolean): string {
  const out: string[] = [];
  for (const c of children) {
    const s = block(c, ctx, d);
    if (s.trim().length > 0) out.push(s);
  }
  return out.join(spread ? '\n\n' : '\n');
}

function block(node: RootContent, ctx: Ctx, d: Dialect): string {
  switch (node.type) {
    case 'paragraph':
      return phrasing(node.children, ctx, d);
    case 'heading': {
      const inner = phrasing(node.children, { ...ctx, strong: true }, d).trim();
      return inner && !ctx.strong ? d.strong(inner) : inner;
    }
    case 'thematicBreak':
      return d.rule;
    case 'code':
      return d.codeBlock(node.value, node.lang ?? undefined, ctx.quote);
    case 'blockquote': {
      const inner = blocks(node.children, { ...ctx, quote: true }, d, true);
      // Chat apps do not nest quotes: an inner quote joins the outer one.
      return ctx.quote ? inner : d.quote(inner);
    }
    case 'list':
      return list(node, ctx, d);
    case 'table':
      return table(node, ctx, d);
    case 'html':
      return html(node.value, d);
    case 'definition':
      return '';
    case 'footnoteDefinition':
      return `[${d.text(node.label ?? node.identifier)}] ${blocks(node.children, ctx, d, false)}`;
    default:
      // Phrasing content at block level (never produced by the parser, but typed as possible).
      return phrasing([node as PhrasingContent], ctx, d);
  }
}

function list(node: List, ctx: Ctx, d: Dialect): string {
  const start = node.start ?? 1;
  const items = node.children.map((item, i) => {
    const marker = node.ordered ? `${start + i}. ` : d.bullet;
    return listItem(item, marker, ctx, d, node.spread ?? false);
  });
  return items.join(node.spread ? '\n\n' : '\n');
}

function listItem(item: ListItem, marker: string, ctx: Ctx, d: Dialect, spread: boolean): string {
  const check = item.checked === true ? '☑ ' : item.checked === false ? '☐ ' : '';
  const indent = ' '.repeat(Math.min(marker.length, 4));
  const parts: string[] = [];
  for (const c of item.children) {
    const s = block(c, ctx, d);
    if (s.trim().length === 0) continue;
    // Code keeps its own indentation; everything else lines up under the item's text.
    parts.push(c.type === 'code' ? s : s.replace(/\n/g, `\n${indent}`));
  }
  const body = parts.join(spread || item.spread ? `\n\n${indent}` : `\n${indent}`);
  return `${marker}${check}${body}`;
}

function table(node: Table, ctx: Ctx, d: Dialect): string {
  const [head, ...rows] = node.children;
  const headers = (head?.children ?? []).map((c) => plainText(c).trim());
  if (rows.length === 0) return headers.map((h) => d.text(h)).join(' · ');
  const lines = rows.map((row) => {
    const cells = row.children.map((c) => cell(c, ctx, d));
    const first = cells[0] ?? '';
    const label = first ? (ctx.strong ? first : d.strong(cellStrong(row.children[0], ctx, d))) : '';
    const rest = cells
      .slice(1)
      .map((c, j) => {
        if (!c) return '';
        const h = headers[j + 1];
        return h ? `${d.text(h)}: ${c}` : c;
      })
      .filter(Boolean);
    const text = [label, rest.join(' · ')].filter(Boolean).join(' — ');
    return `${d.bullet}${text}`;
  });
  return lines.join('\n');
}

function cell(c: TableCell, ctx: Ctx, d: Dialect): string {
  return phrasing(c.children, ctx, d).trim();
}

function cellStrong(c: TableCell | undefined, ctx: Ctx, d: Dialect): string {
  return c ? phrasing(c.children, { ...ctx, strong: true }, d).trim() : '';
}

/** Inline formatting tags a model may write instead of Markdown: dropped, their text kept. */
const FORMATTING_TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'del',
  'strike',
  'sub',
  'sup',
  'mark',
  'small',
  'span',
  'font',
]);

/**
 * Raw HTML from the model: `<br>` is a line break, comments and formatting tags vanish, anything
 * else (`<div>` in an answer about HTML) is shown as the text it is.
 */
function html(value: string, d: Dialect): string {
  const v = value.trim();
  if (/^<br\s*\/?>$/i.test(v)) return '\n';
  if (/^<!--[\s\S]*-->$/.test(v)) return '';
  const tag = /^<\/?([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?\/?>$/.exec(v);
  if (tag && FORMATTING_TAGS.has(tag[1].toLowerCase())) return '';
  return d.text(value);
}

function phrasing(children: readonly PhrasingContent[], ctx: Ctx, d: Dialect): string {
  const pieces = children.map((c) => inline(c, ctx, d));
  let out = '';
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i];
    if (p.bare !== undefined && d.boundaryMarkers) {
      const before = out.slice(-1);
      const after = (pieces[i + 1]?.out ?? '').slice(0, 1);
      if ((before && WORD_CHAR.test(before)) || (after && WORD_CHAR.test(after))) {
        out += p.bare;
        continue;
      }
    }
    out += p.out;
  }
  return out;
}

function wrap(
  children: readonly PhrasingContent[],
  ctx: Ctx,
  d: Dialect,
  flag: 'strong' | 'emphasis' | 'strike',
  apply: (s: string) => string,
): Piece {
  // The same style inside itself adds nothing (and Telegram would see doubled tags).
  if (ctx[flag]) return { out: phrasing(children, ctx, d) };
  const inner = phrasing(children, { ...ctx, [flag]: true }, d);
  if (inner.trim().length === 0) return { out: inner };
  return { out: apply(inner), bare: inner };
}

function inline(node: PhrasingContent | LiteralText, ctx: Ctx, d: Dialect): Piece {
  switch (node.type) {
    case 'text':
      return { out: d.text(node.value) };
    case 'literalText':
      return { out: d.literal(node.value) };
    case 'strong':
      return wrap(node.children, ctx, d, 'strong', d.strong);
    case 'emphasis':
      return wrap(node.children, ctx, d, 'emphasis', d.emphasis);
    case 'delete':
      return wrap(node.children, ctx, d, 'strike', d.strike);
    case 'inlineCode':
      return { out: d.inlineCode(node.value) };
    case 'break':
      return { out: '\n' };
    case 'link':
      return link(node.children, node.url, ctx, d);
    case 'linkReference': {
      const def = ctx.defs.get(node.identifier.toLowerCase());
      return def ? link(node.children, def.url, ctx, d) : { out: phrasing(node.children, ctx, d) };
    }
    case 'image':
      return image(node.alt ?? '', node.url, d);
    case 'imageReference': {
      const def = ctx.defs.get(node.identifier.toLowerCase());
      return def ? image(node.alt ?? '', def.url, d) : { out: d.text(node.alt ?? '') };
    }
    case 'footnoteReference':
      return { out: d.text(`[${node.label ?? node.identifier}]`) };
    case 'html':
      return { out: html(node.value, d) };
    default:
      return { out: '' };
  }
}

function link(children: readonly PhrasingContent[], url: string, ctx: Ctx, d: Dialect): Piece {
  if (ctx.link) return { out: phrasing(children, ctx, d) };
  const label = phrasing(children, { ...ctx, link: true }, d);
  return { out: d.link(label, url, children.map(plainText).join('')) };
}

function image(alt: string, url: string, d: Dialect): Piece {
  return { out: d.link(d.text(alt), url, alt) };
}

/** The visible text of a node, without any markup. */
export function plainText(node: Nodes | LiteralText): string {
  if ('value' in node && typeof node.value === 'string' && node.type !== 'html') return node.value;
  if (node.type === 'image') return node.alt ?? '';
  if ('children' in node) return (node.children as Nodes[]).map(plainText).join('');
  return '';
}

/** True when a link label just repeats its URL (autolinks, `[https://x](https://x)`, mailto). */
export function labelIsUrl(label: string, url: string): boolean {
  const l = label.trim();
  if (!l) return true;
  const bare = (s: string) =>
    s
      .replace(/^mailto:/i, '')
      .replace(/^https?:\/\//i, '')
      .replace(/\/$/, '');
  return l === url || bare(l) === bare(url);
}
