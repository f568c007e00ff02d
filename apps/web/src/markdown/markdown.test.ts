import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { Markdown } from './Markdown';
import { plainText } from './parse';
import type { MentionLabel } from './mentions';

function html(text: string, mentions: MentionLabel[] = []): string {
  return renderToStaticMarkup(createElement(Markdown, { text, mentions }));
}

describe('Markdown rendering of messages', () => {
  it('renders the subset: bold, italics, inline code, code blocks, lists and links', () => {
    expect(html('**bold** and *it* and `x < y`')).toBe(
      '<p><strong>bold</strong> and <em>it</em> and <code>x &lt; y</code></p>',
    );
    expect(html('```js\nconst a = 1;\n```')).toBe(
      '<pre class="code-block" tabindex="0"><code>const a = 1;</code></pre>',
    );
    expect(html('- one\n- two')).toBe('<ul><li>one</li><li>two</li></ul>');
    expect(html('3. three\n4. four')).toBe('<ol start="3"><li>three</li><li>four</li></ol>');
    expect(html('[docs](https://example.com/a?b=1)')).toBe(
      '<p><a href="https://example.com/a?b=1" target="_blank" rel="noopener noreferrer">docs</a></p>',
    );
  });

  it('makes bare URLs clickable with rel="noopener noreferrer"', () => {
    expect(html('see https://example.com now')).toBe(
      '<p>see <a href="https://example.com" target="_blank" rel="noopener noreferrer">https://example.com</a> now</p>',
    );
  });

  it('keeps line breaks and quotes, and leaves headings and images as plain text', () => {
    expect(html('a\nb')).toBe('<p>a<br/>b</p>');
    expect(html('> quote')).toBe('<blockquote><p>quote</p></blockquote>');
    expect(html('# title')).toBe('<p># title</p>');
    expect(html('![x](https://example.com/x.png)')).not.toContain('<img');
  });

  it('shows raw HTML as text: <script>, <img onerror>, <b>', () => {
    const out = html('<script>window.__pwned=1</script><img src=x onerror="alert(1)"><b>b</b>');
    expect(out).not.toMatch(/<script|<img|<b>/);
    expect(out).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;');
    expect(out).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
  });

  it('never makes javascript:, vbscript: or data: links', () => {
    for (const text of [
      '[x](javascript:alert(1))',
      '[x](JaVaScRiPt:alert(1))',
      '[x](java\tscript:alert(1))',
      '[x](&#106;avascript:alert(1))',
      '[x](vbscript:msgbox(1))',
      '[x](data:text/html;base64,PHNjcmlwdD4=)',
      '<javascript:alert(1)>',
      'javascript:alert(1)',
    ]) {
      const out = html(text);
      expect(out).not.toMatch(/href="(?!https?:|mailto:)/i);
      expect(out).not.toContain('<a ');
    }
  });

  it('keeps a link with a non-web scheme as text', () => {
    expect(html('[x](ftp://example.com/f)')).toBe('<p><em>x</em></p>');
  });

  it('puts a 200 KB code block in one scrollable <pre> without losing any of it', () => {
    const line = 'const value = "a fairly long line of code to fill the block";\n';
    const body = line.repeat(Math.ceil(200_000 / line.length));
    const out = html('```\n' + body + '```');
    expect(out.startsWith('<pre class="code-block" tabindex="0"><code>')).toBe(true);
    expect(out.match(/<pre/g)).toHaveLength(1);
    expect(out.length).toBeGreaterThan(200_000);
  });

  it('highlights mentions of members and @cohortgpt, not inside code', () => {
    const out = html('hi @Ada Lovelace and @cohortGPT, not `@Ada Lovelace`', [
      { label: 'Ada Lovelace', self: true },
    ]);
    expect(out).toBe(
      '<p>hi <span class="mention me" data-testid="mention">@Ada Lovelace</span> and ' +
        '<span class="mention" data-testid="mention">@cohortGPT</span>, not <code>@Ada Lovelace</code></p>',
    );
  });

  it('does not highlight an email address or a longer word', () => {
    const out = html('write to ada@cohortgpt.example or @cohortgpts', []);
    expect(out).not.toContain('class="mention');
  });
});

describe('plain text of a message', () => {
  it('drops the Markdown markers and flattens lines', () => {
    expect(plainText('A **zeppelin** is\n- `rigid`\n- [big](https://example.com)')).toBe(
      'A zeppelin is rigid big',
    );
    expect(plainText('<b>kept as text</b>')).toBe('<b>kept as text</b>');
  });
});
