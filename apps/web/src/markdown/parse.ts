import MarkdownIt, { type Token } from 'markdown-it';
import { splitMentions, type MentionLabel } from './mentions';

/**
 * Message text → a small tree of safe nodes (DESIGN §8 "Formatting"). markdown-it parses; we never use its HTML
 * output: the tree holds only the elements below and plain strings, and React escapes every string, so raw HTML in
 * a message is always text. `html: false` keeps markdown-it from even recognising HTML; its default `validateLink`
 * drops `javascript:`, `vbscript:`, `file:` and non-image `data:` links; `safeHref` below then allows only
 * http(s) and mailto, whatever the parser let through.
 */
export type MdNode =
  | { kind: 'text'; text: string }
  | { kind: 'mention'; text: string; self: boolean }
  | { kind: 'br' }
  | { kind: 'code'; text: string }
  | { kind: 'pre'; text: string; lang: string }
  | { kind: 'link'; href: string; children: MdNode[] }
  | { kind: 'block'; tag: 'p' | 'strong' | 'em' | 'ul' | 'li' | 'blockquote'; children: MdNode[] }
  | { kind: 'ol'; start: number; children: MdNode[] };

const md = new MarkdownIt('zero', { html: false, linkify: true, breaks: true, typographer: false });
// The subset of §8: emphasis, inline code, code blocks (fenced and indented), lists, links (written or bare);
// plus `>` quotes, which chat people write and the extractive "catch me up" summary uses.
md.enable([
  'list',
  'blockquote',
  'fence',
  'code',
  'emphasis',
  'backticks',
  'link',
  'linkify',
  'autolink',
  'newline',
  'escape',
  'entity',
]);

/** Only these schemes become clickable; anything else stays text. */
export function safeHref(href: string): string | null {
  return /^(https?:\/\/|mailto:)/i.test(href.trim()) ? href.trim() : null;
}

type Container = Extract<MdNode, { children: MdNode[] }>;

function textNodes(text: string, mentions: readonly MentionLabel[]): MdNode[] {
  return splitMentions(text, mentions).map((s) =>
    s.kind === 'mention' ? { kind: 'mention', text: s.text, self: s.self } : { kind: 'text', text: s.text },
  );
}

function open(token: Token): Container | null {
  switch (token.type) {
    case 'paragraph_open':
      // A tight list's paragraphs are hidden: their inline content goes straight into the <li>.
      return token.hidden ? null : { kind: 'block', tag: 'p', children: [] };
    case 'strong_open':
      return { kind: 'block', tag: 'strong', children: [] };
    case 'em_open':
      return { kind: 'block', tag: 'em', children: [] };
    case 'bullet_list_open':
      return { kind: 'block', tag: 'ul', children: [] };
    case 'ordered_list_open': {
      const start = Number(token.attrGet('start') ?? 1);
      return { kind: 'ol', start: Number.isFinite(start) ? start : 1, children: [] };
    }
    case 'blockquote_open':
      return { kind: 'block', tag: 'blockquote', children: [] };
    case 'list_item_open':
      return { kind: 'block', tag: 'li', children: [] };
    case 'link_open': {
      const href = safeHref(String(token.attrGet('href') ?? ''));
      // A link we will not make clickable still shows its text.
      return href ? { kind: 'link', href, children: [] } : { kind: 'block', tag: 'em', children: [] };
    }
    default:
      return null;
  }
}

function walk(tokens: readonly Token[], mentions: readonly MentionLabel[], root: MdNode[]): void {
  const stack: MdNode[][] = [root];
  const top = () => stack[stack.length - 1]!;
  for (const token of tokens) {
    if (token.nesting === 1) {
      const node = open(token);
      if (node) {
        top().push(node);
        stack.push(node.children);
      } else {
        stack.push(top()); // hidden wrapper: children go to the parent
      }
      continue;
    }
    if (token.nesting === -1) {
      if (stack.length > 1) stack.pop();
      continue;
    }
    switch (token.type) {
      case 'inline':
        walk(token.children ?? [], mentions, top());
        break;
      case 'text':
        top().push(...textNodes(token.content, mentions));
        break;
      case 'code_inline':
        top().push({ kind: 'code', text: token.content });
        break;
      case 'fence':
      case 'code_block':
        top().push({
          kind: 'pre',
          text: token.content.replace(/\n$/, ''),
          lang: token.info.trim().split(/\s+/)[0] ?? '',
        });
        break;
      case 'softbreak':
      case 'hardbreak':
        top().push({ kind: 'br' });
        break;
      default:
        // Anything else the enabled rules could produce still shows, as text.
        if (token.content) top().push({ kind: 'text', text: token.content });
    }
  }
}

/** Parses a message's text into safe nodes; `mentions` are the `@labels` to highlight. */
export function parseMessage(text: string, mentions: readonly MentionLabel[] = []): MdNode[] {
  const root: MdNode[] = [];
  walk(md.parse(text, {}), mentions, root);
  return root;
}

function collectText(nodes: readonly MdNode[], out: string[]): void {
  for (const node of nodes) {
    if (node.kind === 'text' || node.kind === 'mention' || node.kind === 'code' || node.kind === 'pre')
      out.push(node.text);
    else if (node.kind === 'br') out.push(' ');
    else {
      collectText(node.children, out);
      if (node.kind === 'block' && (node.tag === 'p' || node.tag === 'li' || node.tag === 'blockquote'))
        out.push(' ');
    }
  }
}

/** The words of a message without its Markdown markers, on one line (chat list previews, quotes). */
export function plainText(text: string): string {
  const out: string[] = [];
  collectText(parseMessage(text), out);
  return out.join('').replace(/\s+/g, ' ').trim();
}
