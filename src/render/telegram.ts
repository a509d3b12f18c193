/**
 * Telegram's `parse_mode: "HTML"`: `<b> <i> <s> <code> <pre> <a href> <blockquote>`, every other
 * `<`, `>` and `&` escaped. Tags are produced by the tree walk, so they are always balanced and
 * never nested in ways Telegram refuses (no entity inside code, no quote inside a quote).
 */
import { parseMarkdown } from './markdown.ts';
import { type Dialect, labelIsUrl, renderTree } from './tree.ts';

/** Escapes text for Telegram HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(s: string): string {
  return escapeHtml(s).replace(/"/g, '&quot;');
}

/** Schemes Telegram turns into text links; anything else is shown as text. */
const LINK_SCHEMES = /^(https?:\/\/|tg:\/\/|mailto:)/i;

/** Keeps leading/trailing blanks outside a tag, so a cut never leaves an empty-looking span. */
function tag(name: string) {
  return (inner: string): string => {
    const m = /^(\s*)([\s\S]*?)(\s*)$/.exec(inner);
    if (!m?.[2]) return inner;
    return `${m[1]}<${name}>${m[2]}</${name}>${m[3]}`;
  };
}

/** The Telegram HTML dialect. */
export const telegramDialect: Dialect = {
  text: escapeHtml,
  literal: escapeHtml,
  strong: tag('b'),
  emphasis: tag('i'),
  strike: tag('s'),
  inlineCode: (v) => (v.length > 0 ? `<code>${escapeHtml(v)}</code>` : ''),
  link: (label, url, plain) => {
    if (!LINK_SCHEMES.test(url)) return label ? `${label} (${escapeHtml(url)})` : escapeHtml(url);
    if (labelIsUrl(plain, url)) return escapeHtml(url.replace(/^mailto:/i, ''));
    return `<a href="${escapeAttr(url)}">${label}</a>`;
  },
  codeBlock: (value, lang, inQuote) => {
    if (value.length === 0) return '';
    // A <pre> inside a quote is not an entity Telegram nests: show the lines as inline code there.
    if (inQuote) return `<code>${escapeHtml(value)}</code>`;
    const language = lang && /^[\w#+.-]{1,32}$/.test(lang) ? lang : undefined;
    return language
      ? `<pre><code class="language-${language}">${escapeHtml(value)}</code></pre>`
      : `<pre>${escapeHtml(value)}</pre>`;
  },
  quote: (inner) => `<blockquote>${inner}</blockquote>`,
  bullet: '• ',
  rule: '———',
  boundaryMarkers: false,
};

/** Renders the model's Markdown as Telegram HTML. */
export function renderTelegramHtml(markdown: string): string {
  return renderTree(parseMarkdown(markdown), telegramDialect);
}
