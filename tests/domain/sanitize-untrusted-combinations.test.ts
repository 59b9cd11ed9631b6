import markdownIt from 'markdown-it';
import footnote from 'markdown-it-footnote';
import { describe, expect, it } from 'vitest';
import { sanitizeUntrusted } from '../../src/domain/sanitize-untrusted.js';

/**
 * Every hiding trick inside every container, twice nested: what the rendered page does not
 * show must not survive. The oracle renders with markdown-it's own HTML renderer (a path the
 * sanitizer does not use) and keeps the text outside tags, comments and hidden elements.
 */
const md = markdownIt({ html: true }).use(footnote);
function shownOnPage(src: string): string {
  return md
    .render(src)
    .replace(/<(span|div)\b[^>]*(?:hidden|display:none)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[[\s\S]*?\]\]>|<![^>]*>/g, '')
    .replace(/<[^>]*>/g, '')
    .replace(/&quot;/g, '"');
}

const S = 'SECRETWORD';
const TRICKS = [
  `![${S}](x.png)`,
  `![a [${S}]](x.png)`,
  `![${S}]\n\n[${S}]: x.png`,
  `[t](u "${S}")`,
  `[t][${S}]\n\n[${S}]: u`,
  `<!-- ${S} -->`,
  `<span hidden>${S}</span>`,
  `<img alt="${S}">`,
  `<img/alt="${S}">`,
  `<?x ${S} ?>`,
  `<!X ${S}>`,
  `<![CDATA[${S}]]>`,
  `x[^${S}]\n\n[^${S}]: n`,
  `[${S}]: #`,
  `<a title="${S}">a</a>`,
  `<div style="display:none">${S}</div>`,
  `![x](y "${S}")`,
  `[![${S}](i)](l)`,
  `<span aria-label="${S}">v</span>`,
];
const first = (t: string) => t.split('\n')[0];
const rest = (t: string) => t.split('\n').slice(1).join('\n');
const WRAPS: ((t: string) => string)[] = [
  (t) => t,
  (t) => `> ${t.replace(/\n/g, '\n> ')}`,
  (t) => `- ${t.replace(/\n/g, '\n  ')}`,
  (t) => `1. a\n2. ${t.replace(/\n/g, '\n   ')}`,
  (t) => `| a | b |\n|---|---|\n| x | ${first(t)} |\n${rest(t)}`,
  (t) => `[^n]\n\n[^n]: ${t.replace(/\n/g, '\n    ')}`,
  (t) => `# h ${first(t)}\n${rest(t)}`,
  (t) => `text\n${t}`,
  (t) => `*em ${t} em*`,
  (t) => `\t- ${t}`,
  (t) => `- a\n\n\t${t.replace(/\n/g, '\n\t')}`,
  (t) => `<details>\n\n${t}\n\n</details>`,
  (t) => `Setext ${t}\n===`,
  (t) => `| a |\n|---|\n| ${first(t)} \\| z |\n${rest(t)}`,
];

describe('sanitizeUntrusted: hiding tricks inside containers', () => {
  it.each(TRICKS.map((t) => [t]))('%j, in every container pair', (trick) => {
    const leaks: string[] = [];
    for (const outer of WRAPS.slice(0, 7)) {
      for (const inner of WRAPS) {
        const doc = outer(inner(trick));
        if (sanitizeUntrusted(doc).includes(S) && !shownOnPage(doc).includes(S)) leaks.push(doc);
      }
    }
    expect(leaks).toEqual([]);
  });
});
