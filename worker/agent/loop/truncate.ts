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
