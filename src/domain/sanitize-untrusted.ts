/**
 * Cleans untrusted text (issue bodies, comments, review threads, repository files) before
 * it is shown to the model. The threat: a prompt injection a human reviewer cannot see on
 * GitHub — HTML comments, processing instructions, declarations, CDATA, hidden elements,
 * reference definitions, image alt text, link titles, footnote labels, invisible or
 * bidirectional-control Unicode — that the model would still read and might obey. What a
 * maintainer sees rendered is what the model gets; everything else is removed.
 *
 * How: markdown-it (CommonMark + GFM tables, strikethrough, footnotes) finds the
 * constructs exactly as a renderer would; the output is the original source with the
 * hidden parts cut out, so ordinary markdown comes back byte for byte and the model keeps
 * its structure (headings, lists, tables, code). micromark was measured first and is
 * quadratic on pathological input (seconds on 60 kB of `![` or `*a`); markdown-it stays
 * linear, and so does everything here (every search moves forward; nothing rescans).
 *
 * Images become `![](url)`: the reader sees the picture, never the alt text (it shows only
 * when loading fails, and a model would read it as an instruction). Links keep their text
 * and destination; a reference link is resolved inline because definitions are dropped.
 * Some text GitHub does show is still cut, as before: an unclosed `<!--` in a paragraph
 * hides the rest, and image-shaped or definition-shaped text loses its bracket text or
 * title, because another renderer or the model itself may read it as markup.
 * Titles and names (shown literally) use `sanitizeUntrustedLine`; diff hunks (shown as
 * code) `sanitizeUntrustedCode`.
 *
 * Longer than 400 lines because the parser hooks, the source mapping and the HTML state
 * machine are one pipeline sharing one chunk stream; split, each part's contract would
 * only be "called by the other".
 */

import type { MarkdownIt, StateBlock, StateInline, Token } from 'markdown-it';
import markdownIt from 'markdown-it';
import footnote from 'markdown-it-footnote';

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

/** C0/C1 control characters other than tab, newline and carriage return (NUL too, so offsets match the parser's). */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

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

/**
 * Text the renderer shows literally, cleaned conservatively anyway: a definition-shaped
 * line's title and the bracket text of an image-shaped run go (another renderer, or the
 * model itself, may read them as markup). Both patterns are linear: no nested quantifiers.
 */
function cleanText(text: string): string {
  return stripInvisibleEntities(
    stripPhantom(text)
      .replace(/^( {0,3}\[[^\]\n]+\]:[ \t]*\S+)[ \t]+(?:"[^"\n]*"|'[^'\n]*'|\([^)\n]*\))[ \t]*$/gm, '$1')
      .replace(/!\[[^[\]]*\]/g, '![]'),
  );
}

// ---------------------------------------------------------------------------------------
// HTML: a browser-like tokenizer over the raw HTML the parser found, run as one state
// machine over the whole document, because a hidden element opened in one HTML node hides
// the markdown after it until its close tag in a later one.
// ---------------------------------------------------------------------------------------

/** Elements whose content is never rendered to a reader, so nothing inside them may reach the model. */
const HIDING_ELEMENTS = new Set([
  'script',
  'style',
  'template',
  'noscript',
  'iframe',
  'object',
  'svg',
  'math',
  'title',
  'head',
  'noembed',
  'noframes',
  'xmp',
  'plaintext',
]);
/** Their content is raw text: only their own end tag ends them (a `<!--` inside does not). */
const RAW_TEXT = new Set(['script', 'style', 'title', 'noembed', 'noframes', 'xmp', 'iframe', 'noscript']);
const VOID = new Set([
  'area',
  'base',
  'br',
  'col',
  'embed',
  'hr',
  'img',
  'input',
  'link',
  'meta',
  'source',
  'track',
  'wbr',
]);
/**
 * Attributes kept on a tag. Everything else goes, because attribute text (alt, title,
 * aria-label, placeholder, value, data-*, even invented attribute names) never shows as
 * page text; class and style stay because GitHub strips them on render and they carry layout.
 */
const KEPT_ATTRIBUTES = new Set([
  'href',
  'src',
  'srcset',
  'media',
  'width',
  'height',
  'align',
  'valign',
  'open',
  'colspan',
  'rowspan',
  'start',
  'reversed',
  'type',
  'checked',
  'disabled',
  'class',
  'style',
  'lang',
  'datetime',
]);
const HIDING_STYLE =
  /display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|opacity\s*:\s*0*(?:\.0*)?\s*(?:;|!|$)|font-size\s*:\s*0*(?:\.0*)?(?:px|em|rem|pt|%)?\s*(?:;|!|$)|(?:^|[;\s])(?:max-)?(?:height|width)\s*:\s*0*(?:\.0*)?(?:px|em|rem|pt|%)?\s*(?:;|!|$)|color\s*:\s*transparent|text-indent\s*:\s*-|clip(?:-path)?\s*:/i;

interface Attribute {
  name: string;
  value: string;
  raw: string;
}
interface Tag {
  name: string;
  end: number;
  attributes: Attribute[];
  closing: boolean;
}

const isTagSpace = (ch: string | undefined) =>
  ch === ' ' || ch === '\t' || ch === '\n' || ch === '\f' || ch === '\r';
const isAsciiLetter = (ch: string | undefined) => ch !== undefined && /[A-Za-z]/.test(ch);

/** Parses the tag at `i` (`<x…>` or `</x…>`) as a browser would; null when it never closes in `h`. */
function parseTag(h: string, i: number): Tag | null {
  const closing = h[i + 1] === '/';
  let j = i + (closing ? 2 : 1);
  const nameStart = j;
  while (j < h.length && !isTagSpace(h[j]) && h[j] !== '/' && h[j] !== '>') j++;
  const name = h.slice(nameStart, j).toLowerCase();
  if (closing) {
    const end = h.indexOf('>', j);
    return end < 0 ? null : { name, end: end + 1, attributes: [], closing };
  }
  const attributes: Attribute[] = [];
  for (;;) {
    while (j < h.length && (isTagSpace(h[j]) || h[j] === '/')) j++;
    if (j >= h.length) return null;
    if (h[j] === '>') return { name, end: j + 1, attributes, closing };
    const start = j++;
    while (j < h.length && !isTagSpace(h[j]) && h[j] !== '/' && h[j] !== '>' && h[j] !== '=') j++;
    const attrName = h.slice(start, j).toLowerCase();
    let k = j;
    while (k < h.length && isTagSpace(h[k])) k++;
    let value = '';
    if (h[k] === '=') {
      k++;
      while (k < h.length && isTagSpace(h[k])) k++;
      const quote = h[k];
      if (quote === '"' || quote === "'") {
        const close = h.indexOf(quote, k + 1);
        if (close < 0) return null;
        value = h.slice(k + 1, close);
        k = close + 1;
      } else {
        const from = k;
        while (k < h.length && !isTagSpace(h[k]) && h[k] !== '>') k++;
        value = h.slice(from, k);
      }
      j = k;
    }
    attributes.push({ name: attrName, value, raw: h.slice(start, j) });
  }
}

function hides(tag: Tag): boolean {
  if (HIDING_ELEMENTS.has(tag.name)) return true;
  return tag.attributes.some(
    (a) =>
      a.name === 'hidden' ||
      (a.name === 'aria-hidden' && a.value.trim().toLowerCase() === 'true') ||
      (a.name === 'style' && HIDING_STYLE.test(a.value)),
  );
}

/** The end of a comment starting at `i` (`<!--`), or -1 when it does not close in `h`. */
function commentEnd(h: string, i: number): number {
  if (h.startsWith('>', i + 4)) return i + 5;
  if (h.startsWith('->', i + 4)) return i + 6;
  return closeOfComment(h, i + 4);
}

function closeOfComment(h: string, from: number): number {
  const a = h.indexOf('-->', from);
  const b = h.indexOf('--!>', from);
  if (a < 0) return b < 0 ? -1 : b + 4;
  return b < 0 || a < b ? a + 3 : b + 4;
}

/** The end of a `<?…?>`, `<!X…>` or `<![CDATA[…]]>`: the longer of the CommonMark and browser readings. */
function bogusEnd(h: string, i: number): number {
  const own = h.startsWith('<?', i) ? '?>' : h.startsWith('<![CDATA[', i) ? ']]>' : '>';
  const a = h.indexOf(own, i + 2);
  if (a >= 0) return a + own.length;
  const b = h.indexOf('>', i + 2);
  return b < 0 ? -1 : b + 1;
}

type Mode =
  | { kind: 'normal' }
  | { kind: 'comment'; resume: Mode }
  | { kind: 'hidden'; tag: string; depth: number; raw: boolean };

type Chunk = { kind: 'text' | 'html' | 'verbatim' | 'out'; text: string };

const NORMAL: Mode = { kind: 'normal' };

/** Runs the chunks through the HTML state machine and returns what a reader would see. */
function renderChunks(chunks: Chunk[]): string {
  let mode: Mode = NORMAL;
  let out = '';

  /** Past the `-->` that ends the open comment, or -1 when it does not end in `t`. */
  const leaveComment = (t: string, i: number) => {
    const e = closeOfComment(t, i);
    if (e >= 0 && mode.kind === 'comment') mode = mode.resume;
    return e;
  };

  const text = (t: string) => {
    let i = 0;
    while (i < t.length) {
      if (mode.kind === 'comment') {
        i = leaveComment(t, i);
        if (i < 0) return;
        continue;
      }
      if (mode.kind === 'hidden') return;
      const c = t.indexOf('<!--', i);
      if (c < 0) {
        out += cleanText(t.slice(i));
        return;
      }
      out += cleanText(t.slice(i, c));
      const e = commentEnd(t, c);
      if (e < 0) {
        mode = { kind: 'comment', resume: NORMAL };
        return;
      }
      i = e;
    }
  };

  const html = (h: string) => {
    const lower = h.replace(/[A-Z]+/g, (s) => s.toLowerCase());
    let i = 0;
    while (i < h.length) {
      if (mode.kind === 'comment') {
        i = leaveComment(h, i);
        if (i < 0) return;
        continue;
      }
      if (mode.kind === 'hidden') {
        const hidden = mode;
        const lt = hidden.raw ? lower.indexOf(`</${hidden.tag}`, i) : h.indexOf('<', i);
        if (lt < 0) return;
        if (!hidden.raw && h.startsWith('<!--', lt)) {
          const e = commentEnd(h, lt);
          if (e < 0) {
            mode = { kind: 'comment', resume: hidden };
            return;
          }
          i = e;
          continue;
        }
        const isTag = isAsciiLetter(h[lt + 1]) || (h[lt + 1] === '/' && isAsciiLetter(h[lt + 2]));
        const tag = isTag ? parseTag(h, lt) : null;
        if (isTag && !tag) return;
        if (!tag) {
          i = lt + 1;
          continue;
        }
        i = tag.end;
        if (tag.name !== hidden.tag) continue;
        if (tag.closing) hidden.depth--;
        else if (!VOID.has(tag.name)) hidden.depth++;
        if (hidden.depth === 0) mode = NORMAL;
        continue;
      }
      const lt = h.indexOf('<', i);
      if (lt < 0) {
        out += stripInvisibleEntities(h.slice(i));
        return;
      }
      out += stripInvisibleEntities(h.slice(i, lt));
      i = lt;
      if (h.startsWith('<!--', lt)) {
        const e = commentEnd(h, lt);
        if (e < 0) {
          mode = { kind: 'comment', resume: NORMAL };
          return;
        }
        i = e;
      } else if (h[lt + 1] === '?' || h[lt + 1] === '!') {
        const e = bogusEnd(h, lt);
        if (e < 0) return;
        i = e;
      } else if (isAsciiLetter(h[lt + 1]) || (h[lt + 1] === '/' && isAsciiLetter(h[lt + 2]))) {
        // An unclosed tag swallows the rest, as the browser's tokenizer does at the end of input.
        const tag = parseTag(h, lt);
        if (!tag) return;
        i = tag.end;
        if (!tag.closing && hides(tag)) {
          if (!VOID.has(tag.name))
            mode = { kind: 'hidden', tag: tag.name, depth: 1, raw: RAW_TEXT.has(tag.name) };
          continue;
        }
        out += renderTag(h, lt, tag);
      } else {
        out += '<';
        i = lt + 1;
      }
    }
  };

  for (const chunk of chunks) {
    if (chunk.kind === 'text') text(chunk.text);
    else if (chunk.kind === 'html') html(chunk.text);
    else if (mode.kind === 'normal') out += chunk.text;
  }
  return out;
}

function renderTag(h: string, start: number, tag: Tag): string {
  const original = h.slice(start + (tag.closing ? 2 : 1), start + (tag.closing ? 2 : 1) + tag.name.length);
  // An end tag's attributes are never shown (the browser ignores them), so none are kept.
  if (tag.closing) return `</${original}>`;
  const kept = tag.attributes.filter((a) => KEPT_ATTRIBUTES.has(a.name));
  if (kept.length === tag.attributes.length) return h.slice(start, tag.end);
  const selfClosing = h[tag.end - 2] === '/';
  return `<${original}${kept.map((a) => ` ${a.raw}`).join('')}${selfClosing ? ' /' : ''}>`;
}

// ---------------------------------------------------------------------------------------
// Markdown: markdown-it with hooks that record where each construct sits in the source.
// ---------------------------------------------------------------------------------------

interface Span {
  start: number;
  end: number;
  labelEnd: number;
}
interface BlockMark {
  kind: 'definition' | 'footnote';
  startLine: number;
  endLine: number;
  labelStart: number;
}
interface Env {
  marks: BlockMark[];
  footnotes?: { refs?: Record<string, number> };
}

const spans = new WeakMap<Token, Span>();
const SPANNED = new Set(['image', 'link_open', 'code_inline', 'html_inline', 'footnote_ref']);

type RuleList<T> = { __rules__: { name: string; fn: T }[]; __cache__: unknown };
type InlineRule = (state: StateInline, silent: boolean) => boolean;
type BlockRule = (state: StateBlock, startLine: number, endLine: number, silent: boolean) => boolean;

function createParser(): MarkdownIt {
  const md = markdownIt({ html: true }).use(footnote);
  // GitHub has no inline `^[…]` footnotes; the tail rule would move definitions out of source order.
  md.inline.ruler.disable('footnote_inline');
  md.core.ruler.disable('footnote_tail');
  const inline = md.inline.ruler as unknown as RuleList<InlineRule>;
  for (const rule of inline.__rules__) {
    if (!['image', 'link', 'backticks', 'html_inline', 'footnote_ref'].includes(rule.name)) continue;
    const original = rule.fn;
    const link = rule.name === 'link';
    rule.fn = (state, silent) => {
      const start = state.pos;
      const before = state.tokens.length;
      const ok = original(state, silent);
      if (!ok || silent) return ok;
      // Where the visible label ends: the rest (destination, title or reference label) may be hidden.
      const labelEnd = link ? state.md.helpers.parseLinkLabel(state, start, true) : -1;
      for (let i = before; i < state.tokens.length; i++) {
        const token = state.tokens[i];
        if (token && SPANNED.has(token.type) && !spans.has(token))
          spans.set(token, { start, end: state.pos, labelEnd });
      }
      return ok;
    };
  }
  inline.__cache__ = null;
  const block = md.block.ruler as unknown as RuleList<BlockRule>;
  for (const rule of block.__rules__) {
    if (rule.name !== 'reference' && rule.name !== 'footnote_def') continue;
    const original = rule.fn;
    const kind = rule.name === 'reference' ? 'definition' : 'footnote';
    rule.fn = (state, startLine, endLine, silent) => {
      const labelStart = (state.bMarks[startLine] ?? 0) + (state.tShift[startLine] ?? 0);
      const ok = original(state, startLine, endLine, silent);
      if (ok && !silent)
        (state.env as unknown as Env).marks.push({ kind, startLine, endLine: state.line, labelStart });
      return ok;
    };
  }
  block.__cache__ = null;
  return md;
}

let parser: MarkdownIt | undefined;

interface Range {
  start: number;
  end: number;
  chunks: Chunk[];
}

/** Source offsets of each line's start, plus one past the end. */
function lineStarts(src: string): number[] {
  const starts = [0];
  for (let i = src.indexOf('\n'); i >= 0; i = src.indexOf('\n', i + 1)) starts.push(i + 1);
  starts.push(src.length + 1);
  return starts;
}

/**
 * Maps an inline token's content offsets to source offsets: each content line is found in
 * its source line (paragraph lines are suffixes, the last one right-trimmed, with leading
 * spaces the parser made from a tab; headings and table cells are substrings, a cell's
 * `\|` being `|` in the content). Null when a line does not match; the caller then
 * re-renders the block from its tokens.
 */
function mapContent(
  src: string,
  starts: number[],
  content: string,
  firstLine: number,
  cursor: number,
  cell: boolean,
) {
  const lines = content.split('\n');
  const offsets = new Int32Array(content.length + 1);
  let c = 0;
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k] ?? '';
    const ls = starts[firstLine + k];
    const next = starts[firstLine + k + 1];
    if (ls === undefined || next === undefined) return null;
    const le = next - 1;
    const last = k === lines.length - 1;
    let end = le;
    if (last) while (end > ls && /\s/.test(src[end - 1] ?? '')) end--;
    const body = line.trimStart();
    const pad = line.length - body.length;
    let s = -1;
    if (!cell && src.startsWith(line, end - line.length) && end - line.length >= Math.max(ls, cursor)) {
      s = end - line.length;
      for (let j = 0; j < line.length; j++) offsets[c + j] = s + j;
    } else if (!cell && pad > 0 && src.startsWith(body, end - body.length) && end - body.length >= ls) {
      s = end - body.length;
      for (let j = 0; j < line.length; j++) offsets[c + j] = s + Math.max(0, j - pad);
    } else if (lines.length === 1) {
      // A substring of its line, searched only inside that line so a miss costs the line, not the document.
      const escaped = line.replaceAll('|', '\\|');
      const from = Math.max(ls, cursor);
      const found = from > le ? -1 : src.slice(from, le).indexOf(escaped);
      if (found < 0) return null;
      let at = from + found;
      for (let j = 0; j < line.length; j++) {
        offsets[c + j] = at;
        at += line[j] === '|' ? 2 : 1;
      }
      offsets[c + line.length] = at;
      return offsets;
    }
    if (s < 0) return null;
    offsets[c + line.length] = last ? end : le;
    c += line.length + 1;
  }
  return offsets;
}

/**
 * GFM ignores the cells of a body row beyond the header's count, so a reader never sees
 * them. The range to drop: from the pipe closing the last counted cell to the line's end
 * (split on unescaped pipes exactly as the parser splits a row).
 */
function excessCells(src: string, ls: number, le: number, columns: number): Range | null {
  let start = ls + (CONTAINER_PREFIX.exec(src.slice(ls, le))?.[0].length ?? 0);
  while (start < le && /\s/.test(src[start] ?? '')) start++;
  let escaped = false;
  let seen = src[start] === '|' ? -1 : 0;
  for (let j = start; j < le; j++) {
    if (src[j] === '|' && !escaped && ++seen === columns) {
      return src.slice(j + 1, le).trim() === '' ? null : { start: j + 1, end: le, chunks: [] };
    }
    escaped = src[j] === '\\';
  }
  return null;
}

/** A line's container markers: blockquote `>`, list bullets and numbers, indentation. */
const CONTAINER_PREFIX = /^(?:[ \t]*(?:>|[-+*](?=[ \t])|\d{1,9}[.)](?=[ \t])))*[ \t]*/;

/**
 * Code blocks stay as they are, except the ones GitHub renders instead of showing: `math`
 * (where `\phantom{…}` draws nothing) and `mermaid` (whose `%%` lines are comments).
 */
function renderedCode(info: string): (text: string) => string {
  const lang = info.trim().split(/\s/)[0]?.toLowerCase();
  if (lang === 'math') return stripPhantom;
  if (lang === 'mermaid') return (text) => text.replace(/^[ \t>]*%%.*$/gm, '');
  return (text) => text;
}

/** TeX `\phantom{…}` (also `\hphantom`, `\vphantom`) takes space but shows nothing; it goes with its braces. */
function stripPhantom(text: string): string {
  const re = /\\[hv]?phantom\s*\{/g;
  let out = '';
  let from = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let depth = 1;
    let j = m.index + m[0].length;
    for (; j < text.length && depth > 0; j++) {
      if (text[j] === '\\') j++;
      else if (text[j] === '{') depth++;
      else if (text[j] === '}') depth--;
    }
    out += text.slice(from, m.index);
    from = j;
    re.lastIndex = j;
  }
  return out + text.slice(from);
}

function destination(url: string): string {
  return /[\s()<>]/.test(url) ? `<${url.replace(/[<>]/g, encodeURIComponent)}>` : url;
}

function footnoteNumber(token: Token): string {
  const meta = token.meta as { id?: number } | null;
  return `[^${(meta?.id ?? 0) + 1}]`;
}

/** What replaces one spanned inline construct (source offsets), or null to keep it as source text. */
function inlineRange(src: string, token: Token, span: Span, at: Int32Array): Range | null {
  const start = at[span.start] ?? 0;
  const end = at[span.end] ?? 0;
  switch (token.type) {
    case 'image':
      return {
        start,
        end,
        chunks: [{ kind: 'out', text: `![](${destination(String(token.attrGet('src') ?? ''))})` }],
      };
    case 'code_inline':
      return { start, end, chunks: [{ kind: 'verbatim', text: src.slice(start, end) }] };
    case 'html_inline':
      return { start, end, chunks: [{ kind: 'html', text: src.slice(start, end) }] };
    case 'footnote_ref':
      return { start, end, chunks: [{ kind: 'out', text: footnoteNumber(token) }] };
    default: {
      // A link keeps its visible text; a title or a reference label (hidden) goes.
      if (token.markup === 'autolink' || token.markup === 'linkify' || span.labelEnd < 0) return null;
      const tail = at[span.labelEnd] ?? end;
      if (!token.attrGet('title') && src.startsWith('](', tail)) return null;
      return {
        start: tail,
        end,
        chunks: [{ kind: 'out', text: `](${destination(String(token.attrGet('href') ?? ''))})` }],
      };
    }
  }
}

/** Fallback when a block's content could not be mapped back: the tokens rendered inertly. */
function renderTokens(children: Token[]): Chunk[] {
  const chunks: Chunk[] = [];
  const hrefs: string[] = [];
  for (const t of children) {
    if (t.type === 'code_inline')
      chunks.push({ kind: 'verbatim', text: `${t.markup}${t.content}${t.markup}` });
    else if (t.type === 'html_inline') chunks.push({ kind: 'html', text: t.content });
    else if (t.type === 'image')
      chunks.push({ kind: 'out', text: `![](${destination(String(t.attrGet('src') ?? ''))})` });
    else if (t.type === 'footnote_ref') chunks.push({ kind: 'out', text: footnoteNumber(t) });
    else if (t.type === 'softbreak' || t.type === 'hardbreak') chunks.push({ kind: 'text', text: '\n' });
    else if (t.type === 'link_open') {
      hrefs.push(String(t.attrGet('href') ?? ''));
      chunks.push({ kind: 'text', text: '[' });
    } else if (t.type === 'link_close')
      chunks.push({ kind: 'out', text: `](${destination(hrefs.pop() ?? '')})` });
    else chunks.push({ kind: 'text', text: t.type === 'text' ? t.content : t.markup || t.content });
  }
  return chunks;
}

/** The source cut into chunks: hidden constructs dropped or replaced, the rest kept as source. */
function chunksOf(src: string): Chunk[] {
  parser ??= createParser();
  const env: Env = { marks: [] };
  const tokens = parser.parse(src, env as unknown as Record<string, unknown>);
  const starts = lineStarts(src);
  const lineStart = (line: number) => Math.min(starts[line] ?? src.length, src.length);
  const ranges: Range[] = [];
  const lines = (token: Token, kind: Chunk['kind'], clean: (text: string) => string = (text) => text) => {
    const [a, b] = token.map ?? [0, 0];
    const text = clean(src.slice(lineStart(a), lineStart(b)));
    ranges.push({ start: lineStart(a), end: lineStart(b), chunks: [{ kind, text }] });
  };
  let map: [number, number] | null = null;
  let group: { map: [number, number]; tokens: Token[]; row: boolean } | null = null;
  const flush = () => {
    if (!group) return;
    const found: Range[] = [];
    let ok = true;
    let at = 0;
    const cell = group.row;
    if (cell) {
      const excess = excessCells(
        src,
        lineStart(group.map[0]),
        lineStart(group.map[0] + 1) - 1,
        group.tokens.length,
      );
      if (excess) ranges.push(excess);
    }
    // Table cells are located left to right, so every cell is mapped once any of them has work.
    if (!group.tokens.some((t) => (t.children ?? []).some((c) => spans.has(c)))) {
      group = null;
      return;
    }
    for (const token of group.tokens) {
      const spanned = (token.children ?? []).filter((t) => spans.has(t));
      const offsets = mapContent(src, starts, token.content, group.map[0], at, cell);
      if (!offsets) {
        ok = false;
        break;
      }
      at = offsets[token.content.length] ?? at;
      for (const t of spanned) {
        const r = inlineRange(src, t, spans.get(t) as Span, offsets);
        if (r) found.push(r);
      }
    }
    if (ok) for (const r of found) ranges.push(r);
    else {
      // Re-rendered from the tokens; the line's container prefix (`> `, `- `, `1. `) is kept.
      const cells = group.tokens.map((t) => renderTokens(t.children ?? []));
      const body: Chunk[] = cells.length > 1 ? [{ kind: 'text', text: '| ' }] : [];
      cells.forEach((cellChunks, i) => {
        if (i > 0) body.push({ kind: 'text', text: ' | ' });
        for (const chunk of cellChunks) body.push(chunk);
      });
      if (cells.length > 1) body.push({ kind: 'text', text: ' |' });
      body.push({ kind: 'text', text: '\n' });
      const start = lineStart(group.map[0]);
      const prefix = CONTAINER_PREFIX.exec(src.slice(start, lineStart(group.map[0] + 1)))?.[0] ?? '';
      ranges.push({ start: start + prefix.length, end: lineStart(group.map[1]), chunks: body });
    }
    group = null;
  };
  tokens.forEach((token, i) => {
    if (token.map) map = token.map;
    if (token.type !== 'inline') {
      if (token.type === 'fence' || token.type === 'code_block')
        lines(token, 'verbatim', renderedCode(token.info));
      else if (token.type === 'html_block') lines(token, 'html');
      return;
    }
    const own = (token.map ?? map) as [number, number] | null;
    if (!own) return;
    if (group && group.map !== own) flush();
    group ??= { map: own, tokens: [], row: /^t[hd]_open$/.test(tokens[i - 1]?.type ?? '') };
    group.tokens.push(token);
  });
  flush();
  const refs = env.footnotes?.refs ?? {};
  for (const mark of env.marks) {
    const whole = { start: lineStart(mark.startLine), end: lineStart(mark.endLine), chunks: [] };
    if (mark.kind === 'definition') ranges.push(whole);
    else {
      const close = src.indexOf(']:', mark.labelStart);
      const id = refs[`:${src.slice(mark.labelStart + 2, close)}`] ?? -1;
      // GitHub does not render a footnote nothing refers to; a referenced one shows, numbered.
      if (id < 0 || close < 0) ranges.push(whole);
      else
        ranges.push({
          start: mark.labelStart,
          end: close + 2,
          chunks: [{ kind: 'out', text: `[^${id + 1}]:` }],
        });
    }
  }
  ranges.sort((a, b) => a.start - b.start || b.end - a.end);
  const chunks: Chunk[] = [];
  let pos = 0;
  for (const r of ranges) {
    if (r.start < pos) continue;
    if (r.start > pos) chunks.push({ kind: 'text', text: src.slice(pos, r.start) });
    for (const c of r.chunks) chunks.push(c);
    pos = r.end;
  }
  if (pos < src.length) chunks.push({ kind: 'text', text: src.slice(pos) });
  return chunks;
}

/** Untrusted markdown reduced to what a reader sees on GitHub, still as markdown. */
export function sanitizeUntrusted(text: string): string {
  let src = text.normalize('NFC');
  src = src.replace(/\r\n?/g, '\n');
  src = src.replace(CONTROL, '');
  src = removeInvisible(src);
  let out = renderChunks(chunksOf(src));
  out = out.replace(/\n{4,}/g, '\n\n\n');
  return out.trim();
}

/**
 * One line of untrusted plain text (an issue or PR title, a file or branch name): GitHub
 * shows it literally, so markdown is not interpreted (a title `[Bug]: Crash` is not a
 * definition). Invisible and control characters go, line breaks become spaces so it cannot
 * start a line of the prompt, and `<!--…` goes to its `-->` or the end, as the markdown
 * sanitizer treats it, so the line cannot open a comment around what follows it.
 */
export function sanitizeUntrustedLine(text: string): string {
  const clean = removeInvisible(text.normalize('NFC').replace(CONTROL, ''));
  let out = '';
  let i = 0;
  for (let c = clean.indexOf('<!--'); c >= 0; c = clean.indexOf('<!--', i)) {
    out += clean.slice(i, c);
    const e = commentEnd(clean, c);
    i = e < 0 ? clean.length : e;
  }
  out += clean.slice(i);
  return out.replace(/\s+/g, ' ').trim();
}

/**
 * Untrusted text GitHub shows as code (a review comment's diff hunk, a file's content):
 * nothing in it is hidden markup, so only invisible and control characters go; line
 * structure stays. Markdown-sanitizing a diff would drop a definition line under review.
 */
export function sanitizeUntrustedCode(text: string): string {
  return removeInvisible(text.normalize('NFC').replace(/\r\n?/g, '\n').replace(CONTROL, ''));
}
