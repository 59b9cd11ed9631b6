/**
 * A CI job log cut to what an agent can use: the head (setup, the command that ran)
 * and the tail (the failure and its summary), with the middle replaced by a count.
 * Logs are untrusted text (whatever the code under test printed): this only bounds
 * and cleans them; the context builder fences them (worker/agent/context/fence-untrusted.ts).
 */

export const LOG_HEAD_CHARS = 2_000;
export const LOG_TAIL_CHARS = 8_000;

// Terminal colour and cursor codes (ESC [ … letter) and other escape sequences: noise to a model,
// and a way to hide text from a person reading the transcript.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b[@-_]/g;
// GitHub Actions prefixes every log line with an ISO timestamp.
const ACTIONS_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z ?/gm;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

export function cleanLog(raw: string): string {
  return raw.replace(/\r\n?/g, '\n').replace(ANSI, '').replace(ACTIONS_TIMESTAMP, '').replace(CONTROL, '');
}

/** Head and tail kept, cut on line boundaries where one is near, the middle counted. */
export function capLog(raw: string, head = LOG_HEAD_CHARS, tail = LOG_TAIL_CHARS): string {
  const text = cleanLog(raw).trim();
  if (text.length <= head + tail) return text;
  let headEnd = head;
  const nl = text.lastIndexOf('\n', head);
  if (nl > head / 2) headEnd = nl;
  let tailStart = text.length - tail;
  const nl2 = text.indexOf('\n', tailStart);
  if (nl2 !== -1 && nl2 < tailStart + tail / 2) tailStart = nl2 + 1;
  const omitted = text.slice(headEnd, tailStart);
  const lines = omitted.split('\n').length - 1;
  return `${text.slice(0, headEnd)}\n… ${lines} lines (${omitted.length} characters) omitted …\n${text.slice(tailStart)}`;
}
