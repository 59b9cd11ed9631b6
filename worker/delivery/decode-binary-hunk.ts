import { inflateSync } from 'node:zlib';

/**
 * Reads the forward half of a `GIT binary patch` section, so the secret scan sees
 * what a binary file really adds (a token in a file with one NUL byte is a binary
 * patch; scanning only `+` lines let it through).
 *
 * Format (git's apply.c): `literal <size>` or `delta <size>`, then lines of base85,
 * each starting with a length letter (A–Z = 1–26 bytes, a–z = 27–52), the whole
 * zlib-deflated. A literal is the new blob; a delta is git's copy/insert program
 * against the old blob, whose inserts are exactly the bytes that are new.
 */

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~';
const DIGIT = new Map([...ALPHABET].map((c, i) => [c, i]));

export type BinaryHunk =
  | { ok: true; kind: 'literal' | 'delta'; size: number; bytes: Buffer }
  | { ok: false; reason: 'too-large' | 'unreadable'; size: number };

function decodeBase85Line(line: string): Buffer | null {
  const first = line.charCodeAt(0);
  const len = first >= 65 && first <= 90 ? first - 64 : first >= 97 && first <= 122 ? first - 96 + 26 : -1;
  const body = line.slice(1);
  if (len < 0 || body.length % 5 !== 0 || (body.length / 5) * 4 < len) return null;
  const out = Buffer.alloc((body.length / 5) * 4);
  for (let g = 0; g < body.length / 5; g++) {
    let acc = 0;
    for (let k = 0; k < 5; k++) {
      const d = DIGIT.get(body[g * 5 + k] as string);
      if (d === undefined) return null;
      acc = acc * 85 + d;
    }
    if (acc > 0xffffffff) return null;
    out.writeUInt32BE(acc, g * 4);
  }
  return out.subarray(0, len);
}

/** The insert data of a git delta (copies come from the old blob, which is not new). */
function deltaInserts(delta: Buffer): Buffer | null {
  let i = 0;
  const varint = () => {
    let shift = 0;
    let value = 0;
    while (i < delta.length) {
      const b = delta[i++] as number;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(b & 0x80)) return value;
    }
    return -1;
  };
  if (varint() < 0 || varint() < 0) return null;
  const inserts: Buffer[] = [];
  while (i < delta.length) {
    const op = delta[i++] as number;
    if (op & 0x80) {
      // Copy: up to 4 offset and 3 size bytes, one per set bit.
      for (let bit = 0; bit < 7; bit++) if (op & (1 << bit)) i++;
      if (i > delta.length) return null;
    } else if (op !== 0) {
      if (i + op > delta.length) return null;
      inserts.push(delta.subarray(i, i + op));
      // A separator, so two inserts never join into a match the new blob may not hold.
      inserts.push(Buffer.from('\n'));
      i += op;
    } else {
      return null;
    }
  }
  return Buffer.concat(inserts);
}

/**
 * Decodes one hunk given its header (`literal 123`) and base85 lines. Anything
 * declared or inflating past `maxBytes` is not inflated (a small deflate stream can
 * expand a thousandfold): the caller refuses it as too large.
 */
export function decodeBinaryHunk(header: string, lines: string[], maxBytes: number): BinaryHunk {
  const m = /^(literal|delta) (\d+)$/.exec(header);
  if (!m) return { ok: false, reason: 'unreadable', size: 0 };
  const kind = m[1] as 'literal' | 'delta';
  const size = Number(m[2]);
  if (size > maxBytes) return { ok: false, reason: 'too-large', size };
  const parts: Buffer[] = [];
  for (const line of lines) {
    const part = decodeBase85Line(line);
    if (!part) return { ok: false, reason: 'unreadable', size };
    parts.push(part);
  }
  let inflated: Buffer;
  try {
    inflated = inflateSync(Buffer.concat(parts), { maxOutputLength: Math.max(size, 1) });
  } catch {
    return { ok: false, reason: 'unreadable', size };
  }
  if (inflated.length !== size) return { ok: false, reason: 'unreadable', size };
  if (kind === 'literal') return { ok: true, kind, size, bytes: inflated };
  const inserts = deltaInserts(inflated);
  return inserts ? { ok: true, kind, size, bytes: inserts } : { ok: false, reason: 'unreadable', size };
}
