/**
 * Parsing the model's Markdown: CommonMark + GFM (tables, strikethrough, autolinks, task lists,
 * footnotes) through micromark/mdast, the parser family remark is built on. The tree is then
 * corrected for chat text: Python dunder names written without backticks (`__init__`,
 * `__name__`) are CommonMark strong emphasis, but no model means "bold init" by them, so such
 * spans go back to the literal text they came from.
 */
import type { Nodes, Parents, PhrasingContent, Root, Text } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';

/** Literal text that must reach the user exactly as written (a dunder name), never as markup. */
export interface LiteralText {
  readonly type: 'literalText';
  readonly value: string;
}

declare module 'mdast' {
  interface PhrasingContentMap {
    literalText: LiteralText;
  }
  interface RootContentMap {
    literalText: LiteralText;
  }
}

/**
 * Longer text is sent as plain text, unparsed: four full chat messages is far past any chat
 * answer (ASSISTANT_MAX_OUTPUT_TOKENS), and micromark's cost grows faster than linearly on
 * hostile input (bench/render.ts).
 */
export const MAX_MARKDOWN_CHARS = 16_000;
/** Deeper nesting than this (quotes, list indentation, runs of one delimiter) is not parsed either. */
export const MAX_MARKDOWN_NESTING = 48;

const IDENTIFIER = /^[A-Za-z0-9_]+$/;

/**
 * Parses `markdown` into an mdast tree, with dunder names kept literal. Text too long or too
 * deeply nested to parse safely comes back as one paragraph of plain text (never throws).
 */
export function parseMarkdown(markdown: string): Root {
  if (!safeToParse(markdown)) return plainTree(markdown);
  try {
    const tree = fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
    restoreDunders(tree, markdown);
    return tree;
  } catch {
    return plainTree(markdown);
  }
}

function plainTree(text: string): Root {
  return { type: 'root', children: [{ type: 'paragraph', children: [{ type: 'text', value: text.trim() }] }] };
}

/** Cheap pre-scan: bounded length, quote depth, indentation and delimiter runs. */
function safeToParse(s: string): boolean {
  if (s.length > MAX_MARKDOWN_CHARS) return false;
  let run = 1;
  let lineStart = true;
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10) {
      lineStart = true;
      depth = 0;
      run = 1;
      continue;
    }
    if (lineStart) {
      // '>' quote markers and indentation (spaces, tabs count four) open containers.
      if (c === 62 || c === 32) depth += 1;
      else if (c === 9) depth += 4;
      else lineStart = false;
      if (c === 62 && depth > MAX_MARKDOWN_NESTING) return false;
      if (depth > MAX_MARKDOWN_NESTING * 4) return false;
    }
    run = i > 0 && s.charCodeAt(i - 1) === c ? run + 1 : 1;
    // Runs of one delimiter (*, _, ~, `, [, ]) are what emphasis and link resolution recurse on.
    if (run > MAX_MARKDOWN_NESTING && (c === 42 || c === 95 || c === 126 || c === 96 || c === 91 || c === 93)) {
      return false;
    }
  }
  return true;
}

/**
 * `__word__` (strong with underscore delimiters around one identifier) becomes the literal
 * `__word__`. Underscores inside words (`snake_case`) never parse as emphasis in CommonMark, so
 * they need nothing here.
 */
function restoreDunders(node: Nodes, source: string): void {
  if (!('children' in node)) return;
  const parent = node as Parents;
  const out: Nodes[] = [];
  for (const child of parent.children as Nodes[]) {
    if (child.type === 'strong' && isDunder(child, source)) {
      const start = child.position?.start.offset ?? 0;
      const end = child.position?.end.offset ?? 0;
      out.push({ type: 'literalText', value: source.slice(start, end) });
      continue;
    }
    restoreDunders(child, source);
    out.push(child);
  }
  (parent as { children: Nodes[] }).children = out;
}

function isDunder(node: Nodes & { type: 'strong' }, source: string): boolean {
  const start = node.position?.start.offset;
  const end = node.position?.end.offset;
  if (start === undefined || end === undefined) return false;
  if (source.slice(start, start + 2) !== '__' || source.slice(end - 2, end) !== '__') return false;
  const only = node.children.length === 1 ? (node.children[0] as PhrasingContent) : undefined;
  return only?.type === 'text' && IDENTIFIER.test((only as Text).value);
}
