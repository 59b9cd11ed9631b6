import { Transform, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip, type Gunzip } from 'node:zlib';

/** The value and the encodings a tool commonly writes it in (base64, URL-encoded). */
export function secretForms(values: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const v of values) {
    if (!v) continue;
    forms.add(v);
    forms.add(Buffer.from(v).toString('base64').replace(/=+$/, ''));
    forms.add(encodeURIComponent(v));
  }
  return [...forms];
}

/**
 * Finds any of `needles` in a byte stream without holding it: keeps only the last
 * (longest needle - 1) bytes between chunks.
 */
export class NeedleMatcher {
  found = false;
  private tail = Buffer.alloc(0);
  private readonly keep: number;

  constructor(private readonly needles: readonly Buffer[]) {
    this.keep = Math.max(0, ...needles.map((n) => n.length - 1));
  }

  push(chunk: Buffer): void {
    if (this.found || this.needles.length === 0) return;
    const window = Buffer.concat([this.tail, chunk]);
    if (this.needles.some((n) => window.includes(n))) this.found = true;
    this.tail = window.subarray(Math.max(0, window.length - this.keep));
  }
}

const BLOCK = 512;
const GZIP_MAGIC = [0x1f, 0x8b];
/**
 * Decompressed bytes scanned per archive, in total. Past it the archive is refused (a
 * gzip bomb must not cost the worker minutes of CPU, and what was not scanned is not kept).
 */
export const MAX_INFLATED_BYTES = 1024 ** 3;

interface Entry {
  /** Data bytes of the entry still to come, then its padding. */
  left: number;
  padding: number;
  /** The first bytes, until we know whether the entry is gzip. */
  head: Buffer;
  inflater: Gunzip | null;
  /** Decided: not gzip (or its gzip stream broke): the raw scan covers it. */
  plain: boolean;
}

/**
 * Passes a tar stream through unchanged while looking for setup secrets in it: in the raw
 * bytes (every file and header), and in the decompressed content of every entry that is
 * gzip data (`.gz`, `.tgz`, a package cache's tarballs), where the raw bytes would not show
 * them. A `.tgz` is a tar, which stores files as they are, so a secret in any file inside
 * one is found too. Not found: other compressions (zip, xz, zstd), gzip inside gzip, and a
 * secret transformed otherwise (hashed, encrypted, split).
 *
 * The host parses the archive as data only; nothing is ever written out of it.
 */
export class ArchiveSecretScanner extends Transform {
  /** A form of a secret was seen. */
  found = false;
  /** Why the archive could not be scanned completely (too much compressed content); null when it could. */
  unscannable: string | null = null;
  private readonly needles: Buffer[];
  private readonly raw: NeedleMatcher;
  private header = Buffer.alloc(0);
  private entry: Entry | null = null;
  private inflated = 0;
  private readonly maxInflatedBytes: number;

  constructor(values: readonly string[], options: { maxInflatedBytes?: number } = {}) {
    super();
    this.maxInflatedBytes = options.maxInflatedBytes ?? MAX_INFLATED_BYTES;
    this.needles = secretForms(values).map((v) => Buffer.from(v));
    this.raw = new NeedleMatcher(this.needles);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.raw.push(chunk);
    if (this.raw.found) this.found = true;
    if (this.needles.length === 0 || this.found || this.unscannable) {
      done(null, chunk);
      return;
    }
    this.parse(chunk).then(
      () => done(null, chunk),
      (err: Error) => done(err),
    );
  }

  override _flush(done: TransformCallback): void {
    this.endEntry().then(
      () => done(),
      (err: Error) => done(err),
    );
  }

  private async parse(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length && !this.found && !this.unscannable) {
      const entry = this.entry;
      if (!entry) {
        const need = BLOCK - this.header.length;
        this.header = Buffer.concat([this.header, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (this.header.length === BLOCK) {
          const size = entrySize(this.header);
          this.header = Buffer.alloc(0);
          if (size > 0) {
            this.entry = {
              left: size,
              padding: (BLOCK - (size % BLOCK)) % BLOCK,
              head: Buffer.alloc(0),
              inflater: null,
              plain: false,
            };
          }
        }
        continue;
      }
      if (entry.left > 0) {
        const take = Math.min(entry.left, chunk.length - at);
        await this.data(entry, chunk.subarray(at, at + take));
        entry.left -= take;
        at += take;
        continue;
      }
      const skip = Math.min(entry.padding, chunk.length - at);
      entry.padding -= skip;
      at += skip;
      if (entry.padding === 0) await this.endEntry();
    }
    if (this.entry && this.entry.left === 0 && this.entry.padding === 0) await this.endEntry();
  }

  private async data(entry: Entry, bytes: Buffer): Promise<void> {
    if (entry.plain) return;
    if (!entry.inflater) {
      entry.head = Buffer.concat([entry.head, bytes]);
      if (entry.head.length < 2 && entry.left > bytes.length) return;
      if (entry.head[0] !== GZIP_MAGIC[0] || entry.head[1] !== GZIP_MAGIC[1]) {
        entry.plain = true;
        return;
      }
      entry.inflater = this.inflaterFor(entry);
      bytes = entry.head;
      entry.head = Buffer.alloc(0);
    }
    const inflater = entry.inflater;
    if (!inflater.write(bytes)) {
      await new Promise<void>((resolve) => {
        const go = () => {
          inflater.off('drain', go);
          inflater.off('close', go);
          resolve();
        };
        inflater.on('drain', go);
        inflater.on('close', go);
      });
    }
  }

  private inflaterFor(entry: Entry): Gunzip {
    const matcher = new NeedleMatcher(this.needles);
    const inflater = createGunzip();
    inflater.on('data', (out: Buffer) => {
      this.inflated += out.length;
      if (this.inflated > this.maxInflatedBytes) {
        this.unscannable = `more than ${this.maxInflatedBytes} bytes of compressed content`;
        inflater.destroy();
        return;
      }
      matcher.push(out);
      if (matcher.found) {
        this.found = true;
        inflater.destroy();
      }
    });
    // Not a valid gzip stream after all (or a truncated one): what it held is covered by the raw scan.
    inflater.on('error', () => {
      entry.plain = true;
    });
    return inflater;
  }

  private async endEntry(): Promise<void> {
    const inflater = this.entry?.inflater;
    this.entry = null;
    if (!inflater || inflater.destroyed) return;
    inflater.end();
    inflater.resume();
    await finished(inflater).catch(() => undefined);
  }
}

/** The entry's data size from a tar header (octal, or base-256 for big files); 0 for an end block. */
function entrySize(header: Buffer): number {
  const field = header.subarray(124, 136);
  if ((field[0] ?? 0) & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] ?? 0);
    return n;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  const n = Number.parseInt(text || '0', 8);
  return Number.isFinite(n) && n > 0 ? n : 0;
}
