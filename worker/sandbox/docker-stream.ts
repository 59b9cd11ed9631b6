/**
 * Docker's attach stream (no TTY) multiplexes stdout and stderr in frames: an
 * 8-byte header (stream type, three zero bytes, big-endian payload length) then
 * the payload. This demultiplexer keeps at most `cap` bytes per stream and drops
 * the rest as it arrives, so a command flooding its output (`yes`) costs the
 * worker CPU to discard it but never memory.
 */
export class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    if (this.size >= this.cap) {
      if (chunk.length > 0) this.truncated = true;
      return;
    }
    const room = this.cap - this.size;
    if (chunk.length > room) {
      // Copy the kept head so the (possibly large) socket chunk can be collected.
      this.chunks.push(Buffer.from(chunk.subarray(0, room)));
      this.size += room;
      this.truncated = true;
      return;
    }
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.length;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

const HEADER_BYTES = 8;

/** Where one demultiplexed stream's bytes go: a capped buffer, or a stream for `spawn`. */
export interface StreamSink {
  push(chunk: Buffer): void;
}

export class DockerStreamDemuxer {
  private header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private remaining = 0;
  private target: StreamSink | null = null;

  constructor(
    private readonly stdout: StreamSink,
    private readonly stderr: StreamSink,
  ) {}

  write(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining === 0) {
        const take = Math.min(HEADER_BYTES - this.headerFill, chunk.length - offset);
        chunk.copy(this.header, this.headerFill, offset, offset + take);
        this.headerFill += take;
        offset += take;
        if (this.headerFill < HEADER_BYTES) return;
        this.headerFill = 0;
        const kind = this.header[0];
        this.remaining = this.header.readUInt32BE(4);
        // 1 = stdout, 2 = stderr; 0 (stdin echo) and anything else is dropped.
        this.target = kind === 1 ? this.stdout : kind === 2 ? this.stderr : null;
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - offset);
      this.target?.push(chunk.subarray(offset, offset + take));
      this.remaining -= take;
      offset += take;
    }
  }
}
