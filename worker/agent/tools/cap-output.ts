/** Limits on text returned to the model: a tool result must never flood the context window. */
export interface OutputCaps {
  maxBytes: number;
  maxLines: number;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

/** Cuts a string to at most `bytes` UTF-8 bytes from the start (or the end), on a character boundary. */
function sliceBytes(text: string, bytes: number, fromEnd: boolean): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= bytes) return text;
  const part = fromEnd ? buf.subarray(buf.length - bytes) : buf.subarray(0, bytes);
  // Drops a split multi-byte character at the cut instead of emitting U+FFFD.
  return part.toString('utf8').replace(fromEnd ? /^\uFFFD+/ : /\uFFFD+$/, '');
}

/**
 * Keeps the head and the tail of long output (errors usually sit at the end, the
 * command's context at the start) and says exactly what was cut in between.
 */
export function capOutput(text: string, caps: OutputCaps): string {
  const totalBytes = Buffer.byteLength(text, 'utf8');
  const lines = text.split('\n');
  if (lines.length <= caps.maxLines && totalBytes <= caps.maxBytes) return text;
  // Head and tail are always a prefix and a suffix of the text: first by lines, then by bytes.
  let head = text;
  let tail = text;
  if (lines.length > caps.maxLines) {
    const headLines = Math.ceil(caps.maxLines / 2);
    head = lines.slice(0, headLines).join('\n');
    tail = lines.slice(lines.length - (caps.maxLines - headLines)).join('\n');
  }
  const half = Math.floor(caps.maxBytes / 2);
  head = sliceBytes(head, half, false);
  tail = sliceBytes(tail, caps.maxBytes - Buffer.byteLength(head, 'utf8'), true);
  if (caps.maxLines - Math.ceil(caps.maxLines / 2) === 0 && lines.length > caps.maxLines) tail = '';
  const middle = text.slice(head.length, text.length - tail.length);
  const cutBytes = Buffer.byteLength(middle, 'utf8');
  const cutLines = Math.max(0, middle.split('\n').length - 2);
  const marker =
    cutLines > 0
      ? `[... ${cutLines} lines (${formatBytes(cutBytes)}) cut ...]`
      : `[... ${formatBytes(cutBytes)} cut ...]`;
  return tail === '' ? `${head}\n${marker}` : `${head}\n${marker}\n${tail}`;
}
