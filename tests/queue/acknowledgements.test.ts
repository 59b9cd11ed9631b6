import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PullwrightError } from '../../src/errors.js';
import {
  type Acknowledgement,
  type Acknowledger,
  acknowledgementStream,
  requestAcknowledgement,
} from '../../src/queue/acknowledgements.js';
import { connectRedis, deletePrefix, startTestAcknowledger, uniquePrefix } from './redis-helpers.js';

const ack = (number: number): Acknowledgement => ({
  installationId: 3,
  repo: { owner: 'octo', name: 'hello' },
  target: { kind: 'issue', number },
  requestedAt: new Date().toISOString(),
});

describe('acknowledgements (real Redis)', () => {
  let redis: Redis;
  const prefixes: string[] = [];
  const running: Acknowledger[] = [];

  const start = async (
    prefix: string,
    react: (a: Acknowledgement) => Promise<void>,
    extra: { consumer?: string; claimIdleMs?: number; attempts?: number } = {},
  ) => {
    const acknowledger = await startTestAcknowledger(redis, prefix, react, {
      consumer: 'c1',
      blockMs: 200,
      retryDelayMs: 10,
      ...extra,
    });
    running.push(acknowledger);
    return acknowledger;
  };
  const newPrefix = () => {
    const p = uniquePrefix('acks');
    prefixes.push(p);
    return p;
  };

  beforeAll(() => {
    redis = connectRedis();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((a) => a.stop()));
  });
  afterAll(async () => {
    for (const p of prefixes) await deletePrefix(redis, p);
    redis.disconnect();
  });

  it('posts a recorded wish promptly and removes it from the stream', async () => {
    const prefix = newPrefix();
    const posted: number[] = [];
    await start(prefix, async (a) => {
      posted.push(a.target.kind === 'issue' ? a.target.number : -1);
    });
    const t0 = Date.now();
    await requestAcknowledgement(redis, prefix, ack(1));
    await expect.poll(() => posted).toEqual([1]);
    // The blocking read wakes on the XADD: no waiting for the next poll.
    expect(Date.now() - t0).toBeLessThan(2_000);
    await expect.poll(() => redis.xlen(acknowledgementStream(prefix))).toBe(0);
  });

  it('posts wishes recorded while no acknowledger ran once one starts', async () => {
    const prefix = newPrefix();
    await requestAcknowledgement(redis, prefix, ack(1));
    await requestAcknowledgement(redis, prefix, ack(2));
    const posted: number[] = [];
    await start(prefix, async (a) => {
      if (a.target.kind === 'issue') posted.push(a.target.number);
    });
    await expect.poll(() => [...posted].sort()).toEqual([1, 2]);
  });

  it('another worker takes over entries a crashed one had read but not finished', async () => {
    const prefix = newPrefix();
    const stream = acknowledgementStream(prefix);
    // A consumer that reads and then "crashes" before acknowledging.
    await redis.xgroup('CREATE', stream, 'acknowledgers', '0', 'MKSTREAM');
    await requestAcknowledgement(redis, prefix, ack(7));
    const taken = await redis.xreadgroup(
      'GROUP',
      'acknowledgers',
      'dead',
      'COUNT',
      10,
      'STREAMS',
      stream,
      '>',
    );
    expect(taken).not.toBeNull();
    const posted: number[] = [];
    await start(
      prefix,
      async (a) => {
        if (a.target.kind === 'issue') posted.push(a.target.number);
      },
      { consumer: 'alive', claimIdleMs: 300 },
    );
    await expect.poll(() => posted, { timeout: 5_000 }).toEqual([7]);
    await expect.poll(() => redis.xlen(stream)).toBe(0);
  });

  it('drops a malformed entry with a log line and keeps going', async () => {
    const prefix = newPrefix();
    const stream = acknowledgementStream(prefix);
    await redis.xadd(stream, '*', 'ack', '{not json');
    await redis.xadd(stream, '*', 'ack', JSON.stringify({ installationId: -1 }));
    await requestAcknowledgement(redis, prefix, ack(3));
    const posted: number[] = [];
    await start(prefix, async (a) => {
      if (a.target.kind === 'issue') posted.push(a.target.number);
    });
    await expect.poll(() => posted).toEqual([3]);
    await expect.poll(() => redis.xlen(stream)).toBe(0);
  });

  it('retries a retryable GitHub error, gives up on a permanent one, and neither blocks the stream', async () => {
    const prefix = newPrefix();
    const calls = new Map<number, number>();
    const posted: number[] = [];
    await start(
      prefix,
      async (a) => {
        const n = a.target.kind === 'issue' ? a.target.number : 0;
        const count = (calls.get(n) ?? 0) + 1;
        calls.set(n, count);
        if (n === 1 && count < 3) throw new PullwrightError('upstream_unavailable', 'GitHub 502');
        if (n === 2) throw new PullwrightError('not_found', 'comment deleted');
        posted.push(n);
      },
      { attempts: 3 },
    );
    await requestAcknowledgement(redis, prefix, ack(1));
    await requestAcknowledgement(redis, prefix, ack(2));
    await requestAcknowledgement(redis, prefix, ack(3));
    await expect.poll(() => [...posted].sort()).toEqual([1, 3]);
    expect(calls.get(1)).toBe(3);
    expect(calls.get(2)).toBe(1);
    await expect.poll(() => redis.xlen(acknowledgementStream(prefix))).toBe(0);
  });

  it('stops promptly while waiting on an empty stream', async () => {
    const prefix = newPrefix();
    const acknowledger = await startTestAcknowledger(redis, prefix, async () => {}, { blockMs: 30_000 });
    const t0 = Date.now();
    await acknowledger.stop();
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});
