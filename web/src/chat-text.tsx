/**
 * A message shown as the user saw it: WhatsApp markup (*bold*, _italic_, ~strike~, `code`,
 * ``` blocks, > quotes) or Telegram HTML (the tags its parse mode allows) turned into React
 * elements. Never innerHTML: Telegram HTML goes through DOMParser (inert, scripts never run)
 * and only the allowed tags become elements; everything else is text.
 */
import type { ReactNode } from 'react';

/** How a message's text is written (see the admin contract's `format`). */
export type TextFormat = 'plain' | 'whatsapp' | 'telegram_html';

/** The formatted text. */
export function ChatText({ text, format }: { text: string; format: TextFormat }) {
  if (format === 'whatsapp') return <>{whatsappBlocks(text)}</>;
  if (format === 'telegram_html') return <>{telegramHtml(text)}</>;
  return <>{text}</>;
}

// ------------------------------------------------------------------ WhatsApp

function whatsappBlocks(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  // The text never changes under a rendered message: position keys are stable.
  let n = 0;
  const key = (p: string) => `${p}${n++}`;
  for (const chunk of text.split(/(```[\s\S]*?```)/g)) {
    if (chunk.startsWith('```') && chunk.endsWith('```') && chunk.length >= 6) {
      out.push(<pre key={key('c')}>{chunk.slice(3, -3).replace(/^\n/, '').replace(/\n$/, '')}</pre>);
      continue;
    }
    const lines = chunk.split('\n');
    let quote: string[] = [];
    const flush = () => {
      if (quote.length === 0) return;
      out.push(<blockquote key={key('q')}>{inlineLines(quote.join('\n'))}</blockquote>);
      quote = [];
    };
    lines.forEach((line, j) => {
      if (/^>( |$)/.test(line)) {
        quote.push(line.replace(/^> ?/, ''));
        return;
      }
      flush();
      out.push(<span key={key('l')}>{whatsappInline(line)}</span>);
      if (j < lines.length - 1) out.push('\n');
    });
    flush();
  }
  return out;
}

function inlineLines(s: string): ReactNode[] {
  return s.split('\n').flatMap((l, i) => (i === 0 ? whatsappInline(l) : ['\n', ...whatsappInline(l)]));
}

// A span opens after a start, blank or punctuation and closes before an end, blank or punctuation,
// with no blank just inside its markers: what WhatsApp itself formats.
const SPAN =
  /(^|[\s\p{P}])(`([^`]+)`|\*([^\s*](?:[^*]*[^\s*])?)\*|_([^\s_](?:[^_]*[^\s_])?)_|~([^\s~](?:[^~]*[^\s~])?)~)(?=$|[\s\p{P}])/u;

function whatsappInline(s: string, depth = 0): ReactNode[] {
  const out: ReactNode[] = [];
  let rest = s;
  let k = 0;
  while (rest.length > 0) {
    const m = depth < 6 ? SPAN.exec(rest) : null;
    if (!m) {
      out.push(rest);
      break;
    }
    const start = m.index + m[1].length;
    if (start > 0) out.push(rest.slice(0, start));
    const key = `${depth}-${k++}`;
    if (m[3] !== undefined) out.push(<code key={key}>{m[3]}</code>);
    else if (m[4] !== undefined) out.push(<strong key={key}>{whatsappInline(m[4], depth + 1)}</strong>);
    else if (m[5] !== undefined) out.push(<em key={key}>{whatsappInline(m[5], depth + 1)}</em>);
    else out.push(<s key={key}>{whatsappInline(m[6] ?? '', depth + 1)}</s>);
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

// ------------------------------------------------------------------ Telegram HTML

const TAGS: Record<string, string> = {
  b: 'strong',
  strong: 'strong',
  i: 'em',
  em: 'em',
  u: 'u',
  ins: 'u',
  s: 's',
  strike: 's',
  del: 's',
  code: 'code',
  pre: 'pre',
  blockquote: 'blockquote',
};

function telegramHtml(html: string): ReactNode[] {
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html');
  return children(doc.body, 'r');
}

function children(node: Node, key: string): ReactNode[] {
  return Array.from(node.childNodes).map((c, i) => element(c, `${key}-${i}`));
}

function element(node: Node, key: string): ReactNode {
  if (node.nodeType === Node.TEXT_NODE) return node.textContent;
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const el = node as Element;
  const name = el.tagName.toLowerCase();
  const inner = children(el, key);
  if (name === 'a') {
    const href = el.getAttribute('href') ?? '';
    return /^(https?:|mailto:|tg:)/i.test(href) ? (
      <a key={key} href={href} target="_blank" rel="noopener noreferrer">
        {inner}
      </a>
    ) : (
      <span key={key}>{inner}</span>
    );
  }
  if (name === 'span' && el.classList.contains('tg-spoiler')) {
    return (
      <span key={key} className="spoiler">
        {inner}
      </span>
    );
  }
  const Tag = TAGS[name] as 'strong' | undefined;
  return Tag ? <Tag key={key}>{inner}</Tag> : <span key={key}>{inner}</span>;
}
