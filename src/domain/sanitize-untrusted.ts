/**
 * Cleans untrusted text (issue bodies, comments, review threads) before it is shown
 * to the model. The threat: a prompt injection a human reviewer cannot see on
 * GitHub — hidden HTML comments, invisible or bidirectional-control Unicode,
 * markup that hides text, instructions tucked into image alt text or link titles —
 * that the model would still read and might obey. What a maintainer sees rendered
 * is what the model gets; everything else is removed.
 */

/**
 * Zero-width, invisible formatting, bidi controls (U+202A–U+202E, U+2066–U+2069), tag
 * characters (U+E0000–U+E007F), variation selectors and other invisibles, as code point
 * ranges (a regex class would trip over combining marks).
 */
const INVISIBLE_RANGES: readonly [number, number][] = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x061c, 0x061c],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180b, 0x180f],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x206f],
  [0x3164, 0x3164],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
  [0xfff9, 0xfffb],
  [0x1d173, 0x1d17a],
  [0xe0000, 0xe007f],
  [0xe0100, 0xe01ef],
];

function isInvisible(codePoint: number): boolean {
  return INVISIBLE_RANGES.some(([lo, hi]) => codePoint >= lo && codePoint <= hi);
}

function removeInvisible(text: string): string {
  let out = '';
  for (const ch of text) if (!isInvisible(ch.codePointAt(0) ?? 0)) out += ch;
  return out;
}

/** C0/C1 control characters other than tab, newline and carriage return. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

const HTML_COMMENT = /<!--[\s\S]*?(?:-->|$)/g;

/** Elements whose content is never rendered to a reader, so nothing inside them may reach the model. */
const HIDING_ELEMENTS = ['script', 'style', 'template', 'noscript', 'iframe', 'object', 'svg', 'math'];

/** An attribute that hides the element: `hidden`, `aria-hidden`, display:none, visibility:hidden, zero size/opacity. */
const HIDING_ATTR =
  /(?:^|\s)hidden(?=\s|=|$)|aria-hidden\s*=\s*["']?true|display\s*:\s*none|visibility\s*:\s*hidden|opacity\s*:\s*0(?:\.0*)?\s*(?:;|["'])|font-size\s*:\s*0|(?:height|width)\s*:\s*0(?:px)?\s*(?:;|["'])/i;

function stripHiddenElements(text: string): string {
  let out = text;
  for (const tag of HIDING_ELEMENTS) {
    out = out.replace(new RegExp(`<${tag}\\b[^>]*>[\\s\\S]*?(?:</${tag}\\s*>|$)`, 'gi'), '');
  }
  // Elements with a hiding attribute go with all their content, nested same-name tags
  // included. An unclosed hidden element hides everything after it, as a browser would.
  const opening = /<([a-z][a-z0-9-]*)\b([^>]*)>/gi;
  for (let guard = 0; guard < 1000; guard++) {
    opening.lastIndex = 0;
    let m = opening.exec(out);
    while (m && !HIDING_ATTR.test(m[2] ?? '')) m = opening.exec(out);
    if (!m) break;
    const tag = (m[1] ?? '').toLowerCase();
    const start = m.index;
    const end = findClose(out, tag, start + m[0].length);
    out = out.slice(0, start) + out.slice(end);
  }
  return out;
}

/** The index just past the close tag matching an open `tag` whose content starts at `from`. */
function findClose(text: string, tag: string, from: number): number {
  const re = new RegExp(`<(/?)${tag}\\b[^>]*?(/?)>`, 'gi');
  re.lastIndex = from;
  let depth = 1;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1] === '/') depth--;
    else if (m[2] !== '/') depth++;
    if (depth === 0) return m.index + m[0].length;
  }
  return text.length;
}

/** `<img alt="...">` and `title="..."`: attribute text the reader may never see. */
function stripHiddenAttributes(text: string): string {
  return text.replace(/<([a-z][a-z0-9-]*)\b([^>]*)>/gi, (_m, tag: string, attrs: string) => {
    const kept = attrs.replace(
      /\s(?:alt|title|aria-label|data-[a-z0-9-]+)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)/gi,
      '',
    );
    return `<${tag}${kept}>`;
  });
}

/** Markdown image alt text and link titles; reference definitions' titles too. */
function stripMarkdownHiding(text: string): string {
  return (
    text
      // ![alt](url "title") → ![](url)
      .replace(/!\[[^\]]*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g, '![]($1)')
      // ![alt][ref] → ![][ref]
      .replace(/!\[[^\]]*\]\[/g, '![][')
      // [text](url "title") → [text](url)
      .replace(/\]\(\s*(<[^>]*>|[^\s)]+)\s+(?:"[^"]*"|'[^']*'|\([^)]*\))\s*\)/g, ']($1)')
      // [ref]: url "title" → [ref]: url
      .replace(/^(\s{0,3}\[[^\]]+\]:\s*\S+)\s+(?:"[^"]*"|'[^']*'|\([^)]*\))\s*$/gm, '$1')
  );
}

const NAMED_INVISIBLE =
  /&(?:zwj|zwnj|lrm|rlm|shy|NoBreak|ZeroWidthSpace|InvisibleTimes|InvisibleComma|ic|it|af|lre|rle|pdf|lro|rlo);/gi;

/** Character references that would render as an invisible character (`&#8203;`, `&#xE0041;`, `&zwj;`). */
function stripInvisibleEntities(text: string): string {
  return text
    .replace(/&#(x[0-9a-f]{1,6}|\d{1,7});/gi, (m, code: string) => {
      const cp = code[0] === 'x' || code[0] === 'X' ? Number.parseInt(code.slice(1), 16) : Number(code);
      return isInvisible(cp) || (cp < 0x20 && cp !== 9 && cp !== 10) ? '' : m;
    })
    .replace(NAMED_INVISIBLE, '');
}

export function sanitizeUntrusted(text: string): string {
  let out = text.normalize('NFC');
  out = out.replace(/\r\n?/g, '\n');
  out = out.replace(CONTROL, '');
  out = removeInvisible(out);
  out = stripInvisibleEntities(out);
  // Comments first: a comment may hide a hiding element's closing tag, or the other way round.
  out = out.replace(HTML_COMMENT, '');
  out = stripHiddenElements(out);
  out = stripHiddenAttributes(out);
  out = stripMarkdownHiding(out);
  out = out.replace(/\n{4,}/g, '\n\n\n');
  return out.trim();
}
