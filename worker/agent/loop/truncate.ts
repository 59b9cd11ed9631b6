/** Keeps the head and the tail of a long text (errors are often at the end), with a marker in between. */
export function capText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const marker = (n: number) => `\n[... ${n} characters cut by the harness ...]\n`;
  const room = Math.max(0, maxChars - marker(text.length).length);
  const head = Math.ceil(room * 0.6);
  const tail = room - head;
  const cut = text.length - head - tail;
  return `${text.slice(0, head)}${marker(cut)}${tail > 0 ? text.slice(text.length - tail) : ''}`;
}

/** The marker the tools' head-and-tail cut leaves in an output (worker/agent/tools/cap-output.ts). */
const TOOL_CUT = /\n\[\.\.\. (?:(\d+) lines \()?(\d+(?:\.\d+)?) (B|KB|MB)\)? cut \.\.\.\]\n/;
const UNIT = { B: 1, KB: 1024, MB: 1024 ** 2 } as const;

export const GIANT_OUTPUT_NOTE =
  '[harness] Only the start and the end of this very long output are shown. Narrow it down instead of reading it whole again: grep -n for what you need, head/tail, sed -n "A,Bp", the editor\'s view_range, or search with a path or glob.';

/**
 * A giant output, once, as it enters the history: a tool already cut it to its head and
 * tail, and what it cut is more than `ratio` times what it kept (a 600 KB test log shown
 * as 14 KB). The model sees a sample of it either way, so the sample shrinks to
 * `maxChars` around the tool's marker (still saying how much was cut) with a note on
 * how to look at the part it needs. Every character of it would otherwise be written to
 * the prompt cache and read on every later request until cleared. Outputs the tools
 * showed whole, or nearly whole, are left to the ordinary cap.
 */
export function capGiantOutput(text: string, maxChars: number, ratio = 4): string {
  const m = TOOL_CUT.exec(text);
  if (!m || text.length <= maxChars) return text;
  const cutBytes = Number(m[2]) * UNIT[m[3] as keyof typeof UNIT];
  if (cutBytes < ratio * (text.length - m[0].length)) return text;
  const head = text.slice(0, m.index);
  const tail = text.slice(m.index + m[0].length);
  const room = Math.max(0, maxChars - m[0].length - GIANT_OUTPUT_NOTE.length - 64);
  // The end of a log holds the failures and the summary: it gets as much as the start.
  const keepHead = Math.min(head.length, Math.floor(room / 2));
  const keepTail = Math.min(tail.length, room - keepHead);
  // Whole lines where there are some: a half line of a log is noise.
  let kept = head.slice(0, keepHead);
  if (kept.length < head.length && kept.lastIndexOf('\n') > kept.length / 2)
    kept = kept.slice(0, kept.lastIndexOf('\n'));
  let end = tail.slice(tail.length - keepTail);
  if (end.length < tail.length && end.indexOf('\n') >= 0 && end.indexOf('\n') < end.length / 2)
    end = end.slice(end.indexOf('\n') + 1);
  const dropped = head.length - kept.length + (tail.length - end.length);
  return `${kept}${m[0].slice(0, -1)}\n[... and ${dropped} more characters around it, cut by the harness ...]\n${end}\n${GIANT_OUTPUT_NOTE}`;
}

/**
 * The notes the editor ends a window of a file with (worker/agent/tools/edit-tool.ts): a
 * file read whole and cut to the window ("Showing lines 1-160 of 5011"), and a file too
 * large to read whole ("is large (N bytes); showing lines 1-800").
 */
const VIEW_WINDOW_LINES =
  /\n\[Showing lines (\d+)-(\d+) of (\d+)\. Use view_range \[\d+, -1\] \(or a smaller window\) to see more, or the search tool to find a line\.\]$/;
const VIEW_WINDOW_BYTES =
  /\n\[(.+) is large \((\d+) bytes\); showing lines (\d+)-(\d+)\. Use view_range \[\d+, \d+\] for more, or search for a line\.\]$/;
/** A numbered line of a view (`cat -n` style: the number right-aligned, a tab, the line). */
const VIEW_LINE = /^ *(\d+)\t/;

export const GIANT_VIEW_NOTE =
  'Read the part you need instead of whole windows: view_range for the lines around it, search (or grep -n) to find a line.';

/**
 * A view of a giant file, once, as it enters the history: the editor showed a window of
 * a file more than `ratio` times larger than the window (5,000 lines shown as 160), so
 * the model sees a small part of it either way. The window shrinks to `maxChars` of whole
 * numbered lines from its start, and the note says which lines are shown, how many the
 * file has and how to read the part it needs, as for a giant command output. A file the
 * editor showed whole, or a window of a file not much larger, is left as it is.
 */
export function capGiantView(text: string, maxChars: number, ratio = 4): string {
  if (text.length <= maxChars) return text;
  const byLines = VIEW_WINDOW_LINES.exec(text);
  const byBytes = byLines ? null : VIEW_WINDOW_BYTES.exec(text);
  const m = byLines ?? byBytes;
  if (!m) return text;
  const body = text.slice(0, m.index);
  let first: number;
  let of: string;
  if (byLines) {
    first = Number(byLines[1]);
    const shownLines = Number(byLines[2]) - first + 1;
    const total = Number(byLines[3]);
    if (total - shownLines < ratio * shownLines) return text;
    of = `${total} lines`;
  } else {
    const sizeBytes = Number((byBytes as RegExpExecArray)[2]);
    if (sizeBytes - body.length < ratio * body.length) return text;
    first = Number((byBytes as RegExpExecArray)[3]);
    of = `${(byBytes as RegExpExecArray)[1]}, ${sizeBytes} bytes`;
  }
  const room = Math.max(0, maxChars - 400);
  let kept = body.slice(0, room);
  if (kept.length < body.length && kept.lastIndexOf('\n') > 0) kept = kept.slice(0, kept.lastIndexOf('\n'));
  const lastLine = VIEW_LINE.exec(kept.slice(kept.lastIndexOf('\n') + 1))?.[1];
  if (lastLine === undefined) return text;
  const last = Number(lastLine);
  return `${kept}\n[harness: showing lines ${first}-${last} of a very large file (${of}). ${GIANT_VIEW_NOTE} view_range [${last + 1}, ${2 * last - first + 1}] continues.]`;
}
