import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  sanitizeUntrusted,
  sanitizeUntrustedCode,
  sanitizeUntrustedLine,
} from '../../src/domain/sanitize-untrusted.js';

/** Each entry: a way to hide text from a GitHub reader, what must not reach the model, what must. */
const CorpusEntry = z.object({
  name: z.string(),
  why: z.string(),
  input: z.string(),
  hidden: z.array(z.string()).min(1),
  visible: z.array(z.string()),
});
const corpus = z
  .array(CorpusEntry)
  .parse(JSON.parse(readFileSync(new URL('./fixtures/hidden-text-corpus.json', import.meta.url), 'utf8')));

describe('sanitizeUntrusted: hidden-text corpus (issue 14)', () => {
  it.each(corpus.map((e) => [e.name, e] as const))('%s', (_name, entry) => {
    const out = sanitizeUntrusted(entry.input);
    for (const hidden of entry.hidden) expect(out, entry.why).not.toContain(hidden);
    for (const visible of entry.visible) expect(out).toContain(visible);
  });

  it('strips tag characters, zero-width characters and bidi controls inside code too', () => {
    const tags = [...'run env'].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');
    const out = sanitizeUntrusted(`\`a${tags}b\`\n\n\`\`\`\nx\u200By\u202Ez\u2067w\n\`\`\``);
    expect(out).toBe('`ab`\n\n```\nxyzw\n```');
  });

  it('keeps a hidden element hidden across markdown blocks, code blocks included', () => {
    const out = sanitizeUntrusted('<div hidden>\n\n# Orders\n\n```\nsecret code\n```\n\n</div>\n\nVisible.');
    expect(out).toBe('Visible.');
  });
});

describe('sanitizeUntrusted: what a reader sees survives', () => {
  it('returns an ordinary issue byte for byte', () => {
    const text = [
      '# Crash on start',
      '',
      'Setext title',
      '============',
      '',
      'Steps, with **bold**, _emphasis_, ~~strike~~ and `inline <code>`:',
      '',
      '1. Run `npm start`',
      '2. See [the log](https://example.com/log "") and <https://example.com/raw>',
      '   - nested item',
      '',
      '- [ ] write a test',
      '- [x] reproduce',
      '',
      '> A quote with a [link](https://example.com).',
      '',
      '| Column | Other |',
      '| ------ | :---: |',
      '| `a\\|b` | cell  |',
      '',
      '```ts',
      '// <!-- not a comment in code -->',
      'const img = "![alt](x.png)";',
      '```',
      '',
      '    indented code <b hidden>kept</b>',
      '',
      'A footnote[^1].',
      '',
      '[^1]: The note text.',
      '',
      '<details><summary>Logs</summary>',
      '',
      'Error: boom',
      '',
      '</details>',
      '',
      '---',
      '',
      'Vec<String> and a < b > c',
    ].join('\n');
    expect(sanitizeUntrusted(text)).toBe(text);
  });

  it('keeps the visible text of links, images as inert references, and table cells', () => {
    const out = sanitizeUntrusted(
      'See [the guide][g] and ![shot](https://example.com/s.png "hover").\n\n| a | b |\n|---|---|\n| ![c](https://example.com/c.png) | d \\| e |\n\n[g]: https://example.com/guide "title"\n',
    );
    expect(out).toBe(
      'See [the guide](https://example.com/guide) and ![](https://example.com/s.png).\n\n| a | b |\n|---|---|\n| ![](https://example.com/c.png) | d \\| e |',
    );
  });

  it('keeps container prefixes when a line holds a tab the parser expanded', () => {
    expect(sanitizeUntrusted('- a\n\t![alt](x.png) tabbed')).toBe('- a\n\t![](x.png) tabbed');
    expect(sanitizeUntrusted('> quote ![alt](x.png)\n> more [l](u "t") end')).toBe(
      '> quote ![](x.png)\n> more [l](u) end',
    );
  });
});

describe('sanitizeUntrustedLine', () => {
  it('keeps a title as GitHub shows it: no markdown is read, invisibles and line breaks go', () => {
    expect(sanitizeUntrusted('[Bug]: Crash')).toBe('');
    expect(sanitizeUntrustedLine('[Bug]: Crash\u200B\n on start ![x](y)')).toBe(
      '[Bug]: Crash on start ![x](y)',
    );
  });

  it('drops comments, an unclosed one to the end, so a title cannot open a comment around the body', () => {
    expect(sanitizeUntrustedLine('a <!-- b --> c')).toBe('a c');
    expect(sanitizeUntrustedLine('Add a flag\u202E<!--')).toBe('Add a flag');
  });
});

describe('sanitizeUntrustedCode', () => {
  it('keeps code as GitHub shows it, lines and markup included, minus invisibles', () => {
    const hunk = '@@ -1,2 +1,2 @@\r\n-[ref]: https://x "t"\n+<!-- note -->\u200B\n ![a](b)';
    expect(sanitizeUntrustedCode(hunk)).toBe(
      '@@ -1,2 +1,2 @@\n-[ref]: https://x "t"\n+<!-- note -->\n ![a](b)',
    );
  });
});
