import { sanitizeUntrustedCode } from '../../src/domain/sanitize-untrusted.js';

/**
 * Text the model or a repository chose (the agent's summary and thread replies,
 * plan steps, file paths, config problems) is posted by the app, under its name,
 * on issues and pull requests that other people watch. Rendered as is it could
 * ping people and teams (`@org/team`), load or link attacker URLs (images, HTML,
 * autolinks), close or spam other issues when the PR merges (`fixes octo/other#2`),
 * or forge the host's own sections and hidden markers (`## Verification`,
 * `<!-- pullwright:… -->`). These functions keep what a reader needs (paragraphs,
 * lists, emphasis, code) and turn everything else into literal text:
 * - `@name` → `@\u200bname`: a zero-width space after `@` stops GitHub's mention
 *   (Renovate's choice too); the text reads the same. Invisibles in the input are
 *   removed first, so only this one is left.
 * - URLs, e-mail addresses and issue/PR references (`#1`, `owner/repo#2`, `GH-3`)
 *   become code spans: GitHub neither links nor cross-references code, so no
 *   closing keyword works and no timeline entry appears on another issue. Only the
 *   host's own `Fixes #N` line may close an issue. Same-repository references are
 *   treated alike: the model has no need to link them and a list of them is spam.
 * - `< > [ ] & # | $` and backslashes are backslash-escaped outside code, so no HTML,
 *   image, link, reference definition, entity (`&#64;` would render an `@`),
 *   heading, blockquote/alert, table or math forms; lines that would be setext
 *   underlines or thematic breaks are escaped too.
 * - HTML comments are removed (hidden text) and no `<!--` is left anywhere in the
 *   raw text, so a marker the host searches for cannot be forged even inside code.
 * - Fenced code blocks stay code (only at column 0, where every container agrees
 *   they are fences), closed before the host's text resumes; an info string that
 *   GitHub renders as something other than code (mermaid, maps, math) is dropped.
 * - The result is at most `maxChars` long and cut at a line, never inside a code
 *   span or escape (a half code span would let its URL become a live link again).
 */

const DEFAULT_MAX_CHARS = 6_000;
const TRUNCATED = '… (truncated)';

/** GitHub renders these fence languages as diagrams, maps or math, not as code. */
const RENDERED_FENCES = new Set(['mermaid', 'geojson', 'topojson', 'stl', 'math', 'plantuml']);

const TOKEN =
  /(?:[A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/|www\.)[^\s<>"'()[\]]+|\b(?:mailto|xmpp):[^\s<>"'()[\]]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:[\w.-]+\/[\w.-]+)?#\d+|\bGH-\d+/gi;

/** `@name` and `@org/team` no longer ping: a zero-width space follows the `@`. Idempotent. */
export function breakMentions(text: string): string {
  return text.replace(/@(?=[A-Za-z0-9])/g, '@\u200b');
}

/** Text outside code: escapes what would become markup; mentions broken. */
function escapeText(text: string): string {
  return breakMentions(text.replace(/[\\<>[\]&#|$]/g, (c) => `\\${c}`));
}

/** Removes every HTML comment and any `<!--` left (also ones that removing others forms). Idempotent. */
export function withoutComments(text: string): string {
  let out = text.replace(/<!--[\s\S]*?-->/g, '');
  while (out.includes('<!--')) out = out.replace(/<!--/g, '');
  return out;
}

/**
 * One line of text as a literal code span: GitHub shows it as typed, with no
 * mention, link, reference or HTML. Line breaks become spaces (a code span that
 * ran into a new line could end a list item and start a heading).
 */
export function codeSpan(text: string): string {
  const flat = withoutComments(sanitizeUntrustedCode(sliceChars(text, 4_000)))
    .replace(/\s+/g, ' ')
    .trim();
  if (flat === '') return '';
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** Text between code spans: URLs and references as code, the rest escaped. */
function inertText(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    out += escapeText(text.slice(last, m.index)) + codeSpan(m[0]);
    last = m.index + m[0].length;
  }
  return out + escapeText(text.slice(last));
}

/**
 * One line of prose. Backtick runs pair as CommonMark pairs them (a run closes on
 * the next run of the same length); an unmatched run is escaped, so no code span
 * can pair across lines with one of ours and turn its URL back into a link.
 */
function inertProseLine(line: string): string {
  let out = '';
  let text = '';
  let i = 0;
  while (i < line.length) {
    if (line[i] !== '`') {
      text += line[i];
      i++;
      continue;
    }
    let n = 0;
    while (line[i + n] === '`') n++;
    const close = findRun(line, i + n, n);
    out += inertText(text);
    text = '';
    if (close < 0) {
      out += '\\`'.repeat(n);
      i += n;
    } else {
      out += line.slice(i, close + n);
      i = close + n;
    }
  }
  out += inertText(text);
  // A line of only `-`, `=`, `*` or `_` would underline the line before as a heading
  // or draw the host's `---` separator; a leading `~~~` would open a fence.
  if (/^[\s=*_-]+$/.test(line) && line.trim() !== '') return out.replace(/[=*_-]/g, (c) => `\\${c}`);
  return out.replace(/^(\s*)~/, '$1\\~');
}

/** Index of the next backtick run of exactly `n` at or after `from`, or -1. */
function findRun(line: string, from: number, n: number): number {
  let i = from;
  while (i < line.length) {
    if (line[i] !== '`') {
      i++;
      continue;
    }
    let len = 0;
    while (line[i + len] === '`') len++;
    if (len === n) return i;
    i += len;
  }
  return -1;
}

interface Fence {
  char: string;
  length: number;
}

function fenceOpenerOf(line: string): (Fence & { info: string }) | null {
  const m = /^(`{3,}|~{3,})(.*)$/.exec(line);
  if (!m?.[1]) return null;
  const info = (m[2] ?? '').trim();
  // A backtick fence whose info string holds a backtick is not a fence but inline code.
  if (m[1][0] === '`' && info.includes('`')) return null;
  const lang = info.split(/\s/)[0] ?? '';
  const safe = /^[A-Za-z0-9_+.#-]{1,30}$/.test(lang) && !RENDERED_FENCES.has(lang.toLowerCase()) ? lang : '';
  return { char: m[1][0] as string, length: m[1].length, info: safe };
}

function closesFence(line: string, fence: Fence): boolean {
  const m = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
  return !!m?.[1] && m[1][0] === fence.char && m[1].length >= fence.length;
}

/** Cuts at a code point boundary (never half a surrogate pair). */
function sliceChars(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, Math.max(0, max));
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/** Model- or repository-chosen markdown, safe to post in a comment or PR body (see above). */
export function inertMarkdown(text: string, maxChars = DEFAULT_MAX_CHARS): string {
  // Rendering never shrinks a line, so text far past the cap cannot show: cut it first
  // (bounds the work on a huge input; only hidden parts removed below could make room).
  const lines = withoutComments(sanitizeUntrustedCode(sliceChars(text, maxChars * 4))).split('\n');
  const budget = Math.max(0, maxChars - TRUNCATED.length - 1);
  const out: string[] = [];
  let size = 0;
  let fence: Fence | null = null;
  let truncated = false;
  for (const line of lines) {
    let rendered: string;
    let next: Fence | null = fence;
    if (fence) {
      const closes = closesFence(line, fence);
      rendered = closes ? fence.char.repeat(fence.length) : line;
      if (closes) next = null;
    } else {
      const opener = fenceOpenerOf(line);
      next = opener;
      // A prose line longer than the room left goes straight to the shortening below.
      rendered = opener
        ? opener.char.repeat(opener.length) + opener.info
        : line.length > budget - size
          ? line
          : inertProseLine(line);
    }
    // Room for the closing fence this line leaves open, so a cut never leaves code unclosed.
    const reserve = next ? next.length + 1 : 0;
    if (size + rendered.length + 1 + reserve > budget) {
      // Only a prose line is shortened (before rendering, then rendered whole); code lines are dropped.
      const room = budget - size - 1;
      const shorter =
        !fence && !next && room > 8 ? inertProseLine(sliceChars(line, Math.floor(room / 3))) : '';
      if (shorter && size + shorter.length + 1 <= budget) out.push(shorter);
      truncated = true;
      break;
    }
    out.push(rendered);
    size += rendered.length + 1;
    fence = next;
  }
  if (fence) out.push(fence.char.repeat(fence.length));
  if (truncated) out.push(TRUNCATED);
  return out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** One line of model- or repository-chosen text (a plan step, a path, a host): no line breaks. */
export function inertInline(text: string, maxChars = 300): string {
  const flat = withoutComments(sanitizeUntrustedCode(sliceChars(text, maxChars * 4)))
    .replace(/\s+/g, ' ')
    .trim();
  const line = inertProseLine(sliceChars(flat, maxChars + 1));
  if (line.length <= maxChars) return line;
  // Shortened before rendering, so no code span or escape is cut in half.
  let room = Math.floor(maxChars / 2);
  for (;;) {
    const shorter = `${inertProseLine(sliceChars(flat, room))}…`;
    if (shorter.length <= maxChars || room === 0) return shorter.length <= maxChars ? shorter : '…';
    room = Math.floor(room / 2);
  }
}

/**
 * One line of plain text GitHub does not render as markdown but still reads for
 * references: a commit subject or a PR title built from an issue title (the issue's
 * author chose it). A commit reaching the default branch, or a squash merge using
 * the PR title, closes `fixes #3` and `closes octo/other#2`; a zero-width space after
 * `#` (and after `@`) keeps the text readable and stops both the closing and the
 * cross-reference. Only the host's own suffix (`(#7)`) should be appended after this.
 */
export function inertPlainLine(text: string, maxChars = 200): string {
  const flat = withoutComments(sanitizeUntrustedCode(sliceChars(text, maxChars * 4)))
    .replace(/\s+/g, ' ')
    .trim();
  return sliceChars(
    breakMentions(flat.replace(/#(?=\d)/g, '#\u200b').replace(/\bGH-(?=\d)/gi, (m) => `${m}\u200b`)),
    maxChars,
  );
}
