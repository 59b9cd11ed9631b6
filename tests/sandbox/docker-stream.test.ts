import { describe, expect, it } from 'vitest';
import { CappedBuffer, DockerStreamDemuxer } from '../../worker/sandbox/docker-stream.js';

function frame(stream: number, payload: string | Buffer): Buffer {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

describe('DockerStreamDemuxer', () => {
  it('splits frames into stdout and stderr, whatever the chunk boundaries', () => {
    const wire = Buffer.concat([
      frame(1, 'hello '),
      frame(2, 'oops'),
      frame(1, 'world'),
      frame(0, 'stdin echo'),
    ]);
    for (const size of [1, 3, 7, 8, 9, wire.length]) {
      const out = new CappedBuffer(100);
      const err = new CappedBuffer(100);
      const demux = new DockerStreamDemuxer(out, err);
      for (let i = 0; i < wire.length; i += size) demux.write(wire.subarray(i, i + size));
      expect(out.toBuffer().toString()).toBe('hello world');
      expect(err.toBuffer().toString()).toBe('oops');
      expect(out.truncated || err.truncated).toBe(false);
    }
  });

  it('keeps the head up to the cap per stream and flags truncation', () => {
    const out = new CappedBuffer(5);
    const err = new CappedBuffer(5);
    const demux = new DockerStreamDemuxer(out, err);
    demux.write(Buffer.concat([frame(1, 'abc'), frame(1, 'defgh'), frame(2, 'xyz'), frame(1, 'more')]));
    expect(out.toBuffer().toString()).toBe('abcde');
    expect(out.truncated).toBe(true);
    expect(err.toBuffer().toString()).toBe('xyz');
    expect(err.truncated).toBe(false);
  });

  it('does not flag a stream that ends exactly at the cap', () => {
    const out = new CappedBuffer(4);
    out.push(Buffer.from('ab'));
    out.push(Buffer.from('cd'));
    out.push(Buffer.alloc(0));
    expect(out.truncated).toBe(false);
    expect(out.toBuffer().toString()).toBe('abcd');
  });
});
