/**
 * WhatsApp's text markup: `*bold*`, `_italic_`, `~strike~`, `` `code` ``, ```` ``` ```` blocks,
 * `> ` quotes, `- ` and `1. ` lists. There are no headings, tables, link syntax or escapes, so
 * links become `text (url)` (or the bare URL, which WhatsApp links by itself) and markers only
 * go where WhatsApp reads them: tight around non-blank text, at word boundaries.
 */
import { parseMarkdown } from './markdown.ts';
import { type Dialect, labelIsUrl, renderTree } from './tree.ts';

/** `*x*` needs x to start and end with a non-blank: keep surrounding blanks outside the markers. */
function tight(marker: string) {
  return (inner: string): string => {
    const m = /^(\s*)([\s\S]*?)(\s*)$/.exec(inner);
    if (!m?.[2]) return inner;
    return `${m[1]}${marker}${m[2]}${marker}${m[3]}`;
  };
}

/** The WhatsApp dialect. */
export const whatsappDialect: Dialect = {
  text: (s) => s,
  // WhatsApp has no escape; monospace is the one place its markers are inert.
  literal: (s) => `\`${s}\``,
  strong: tight('*'),
  emphasis: tight('_'),
  strike: tight('~'),
  inlineCode: (v) => (v.includes('`') || v.trim().length === 0 ? v : `\`${v}\``),
  link: (label, url, plain) => (labelIsUrl(plain, url) ? url.replace(/^mailto:/i, '') : `${label} (${url})`),
  codeBlock: (value) => `\`\`\`\n${value.replace(/```/g, '`\u200b``')}\n\`\`\``,
  quote: (inner) =>
    inner
      .split('\n')
      .map((l) => (l.length > 0 ? `> ${l}` : '>'))
      .join('\n'),
  bullet: '- ',
  rule: '———',
  boundaryMarkers: true,
};

/** Renders the model's Markdown as WhatsApp markup. */
export function renderWhatsApp(markdown: string): string {
  return renderTree(parseMarkdown(markdown), whatsappDialect);
}
