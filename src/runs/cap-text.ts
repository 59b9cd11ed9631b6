/**
 * Keeps the head and the tail of a long text with a marker between them: the
 * start of a command's output says what ran, its end says how it went.
 */
export function capHeadTail(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const marker = `\n… ${text.length - maxChars} characters omitted …\n`;
  const keep = Math.max(0, maxChars - marker.length);
  const head = Math.ceil(keep / 2);
  return `${text.slice(0, head)}${marker}${text.slice(text.length - (keep - head))}`;
}
