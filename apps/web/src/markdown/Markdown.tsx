import { memo, useMemo, type ReactNode } from 'react';
import type { MentionLabel } from './mentions';
import { parseMessage, type MdNode } from './parse';

function render(nodes: readonly MdNode[]): ReactNode[] {
  return nodes.map((node, i) => {
    switch (node.kind) {
      case 'text':
        return node.text;
      case 'mention':
        return (
          <span key={i} className={`mention${node.self ? ' me' : ''}`} data-testid="mention">
            {node.text}
          </span>
        );
      case 'br':
        return <br key={i} />;
      case 'code':
        return <code key={i}>{node.text}</code>;
      case 'pre':
        return (
          <pre key={i} className="code-block" tabIndex={0}>
            <code>{node.text}</code>
          </pre>
        );
      case 'link':
        return (
          <a key={i} href={node.href} target="_blank" rel="noopener noreferrer">
            {render(node.children)}
          </a>
        );
      case 'ol':
        return (
          <ol key={i} start={node.start}>
            {render(node.children)}
          </ol>
        );
      case 'block': {
        const Tag = node.tag;
        return <Tag key={i}>{render(node.children)}</Tag>;
      }
    }
  });
}

/**
 * A message's text with the Markdown subset of DESIGN §8, rendered as React elements (no HTML strings at all,
 * so nothing here needs dangerouslySetInnerHTML or a sanitizer): see `parse.ts` for why it is safe.
 */
export const Markdown = memo(function Markdown({
  text,
  mentions,
}: {
  text: string;
  mentions?: readonly MentionLabel[];
}) {
  const nodes = useMemo(() => parseMessage(text, mentions ?? []), [text, mentions]);
  return <>{render(nodes)}</>;
});
