/**
 * The runbook inside the dashboard: each alert's section of docs/operations.md, bundled at build
 * time (so it matches the version running and works without reaching any docs site), parsed with
 * mdast-util-from-markdown and rendered as plain React elements (no HTML from the document).
 */
import type { Nodes, PhrasingContent, RootContent } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import type { ReactNode } from 'react';
import OPERATIONS from '../../docs/operations.md?raw';

/** The Markdown of `alert`'s runbook section (heading left out), or undefined when the doc has none. */
export function runbookMarkdown(alert: string, doc: string = OPERATIONS): string | undefined {
  const anchor = `<a id="alert-${alert.toLowerCase()}"></a>`;
  const start = doc.indexOf(anchor);
  if (start < 0) return undefined;
  const rest = doc.slice(start + anchor.length);
  const ends = [rest.indexOf('<a id="alert-'), rest.search(/\n## /)].filter((i) => i >= 0);
  const body = ends.length ? rest.slice(0, Math.min(...ends)) : rest;
  return body.replace(/^\s*### .*\n/, '').trim();
}

function inline(nodes: PhrasingContent[]): ReactNode[] {
  return nodes.map((n, i) => {
    const key = `${n.type}-${i}`;
    switch (n.type) {
      case 'text':
        return n.value;
      case 'strong':
        return <strong key={key}>{inline(n.children)}</strong>;
      case 'emphasis':
        return <em key={key}>{inline(n.children)}</em>;
      case 'inlineCode':
        return <code key={key}>{n.value}</code>;
      case 'break':
        return <br key={key} />;
      case 'link':
        // Only links out of the document; anchors inside operations.md mean nothing here.
        return /^https?:\/\//.test(n.url) ? (
          <a key={key} href={n.url} target="_blank" rel="noreferrer">
            {inline(n.children)}
          </a>
        ) : (
          <span key={key}>{inline(n.children)}</span>
        );
      default:
        return 'children' in n ? inline((n as { children: PhrasingContent[] }).children) : null;
    }
  });
}

function block(n: RootContent | Nodes, i: number): ReactNode {
  const key = `${n.type}-${i}`;
  switch (n.type) {
    case 'paragraph':
      return <p key={key}>{inline(n.children)}</p>;
    case 'heading':
      return <h4 key={key}>{inline(n.children)}</h4>;
    case 'list': {
      const items = n.children.map((li) => <li key={`li-${li.position?.start.offset}`}>{li.children.map(block)}</li>);
      return n.ordered ? <ol key={key}>{items}</ol> : <ul key={key}>{items}</ul>;
    }
    case 'code':
      return (
        <pre key={key}>
          <code>{n.value}</code>
        </pre>
      );
    case 'blockquote':
      return <blockquote key={key}>{n.children.map(block)}</blockquote>;
    default:
      return null; // html (anchors), thematic breaks, definitions
  }
}

/** An alert's runbook section, rendered; a note when the doc has none. */
export function Runbook({ alert }: { alert: string }) {
  const md = runbookMarkdown(alert);
  if (md === undefined) return <p className="muted">No runbook section for {alert} in docs/operations.md.</p>;
  return <div className="runbook">{fromMarkdown(md).children.map(block)}</div>;
}
