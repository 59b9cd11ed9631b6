import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceWrites } from '../../src/queue/coalesced-writes.js';
import { createProducerConnection } from '../../src/queue/producer-connection.js';
import { connectRedis, deletePrefix, REDIS_URL, uniquePrefix } from './redis-helpers.js';

/** Counts what actually reaches the socket's transport: one call is one write system call. */
function countTransportWrites(redis: Redis): { writes: number; chunks: number } {
  const socket = redis.stream as Socket & {
    _write: (...args: unknown[]) => void;
    _writev: (chunks: unknown[], cb: unknown) => void;
  };
  const counts = { writes: 0, chunks: 0 };
  const write = socket._write;
  const writev = socket._writev;
  socket._write = function (this: Socket, ...args: unknown[]) {
    counts.writes += 1;
    counts.chunks += 1;
    return write.apply(this, args);
  };
  socket._writev = function (this: Socket, chunks: unknown[], cb: unknown) {
    counts.writes += 1;
    counts.chunks += chunks.length;
    return writev.call(this, chunks, cb);
  };
  return counts;
}

const ready = (redis: Redis) =>
  redis.status === 'ready' ? Promise.resolve() : new Promise<void>((r) => redis.once('ready', () => r()));

/** n callbacks of one timers phase (like n webhook deliveries handled in one turn), each issuing a command. */
function fromSeparateCallbacks<T>(n: number, issue: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(
    Array.from(
      { length: n },
      (_, i) => new Promise<T>((resolve, reject) => setTimeout(() => issue(i).then(resolve, reject), 0)),
    ),
  );
}

describe('coalesced Redis writes (real Redis)', () => {
  const clients: Redis[] = [];
  const prefix = uniquePrefix('coalesce');
  const client = (redis: Redis) => {
    clients.push(redis);
    return redis;
  };

  afterEach(async () => {
    const admin = connectRedis();
    await deletePrefix(admin, prefix);
    admin.disconnect();
    for (const c of clients.splice(0)) c.disconnect();
  });

  it('sends the commands of one turn, issued from separate callbacks, in one write, and answers each in order', async () => {
    const redis = client(createProducerConnection(REDIS_URL));
    await ready(redis);
    const counts = countTransportWrites(redis);

    const sets = await fromSeparateCallbacks(50, (i) => redis.set(`${prefix}:k${i}`, String(i), 'EX', 60));
    expect(sets).toEqual(Array(50).fill('OK'));
    // Each reply releases the next command in the same turn: 50 GETs of one batch of replies.
    const values = await fromSeparateCallbacks(50, (i) => redis.get(`${prefix}:k${i}`));
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));

    expect(counts.chunks).toBe(100);
    // Without coalescing every command is a write of its own (100); allow the timers
    // phase to split into a few turns on a busy machine.
    expect(counts.writes).toBeLessThanOrEqual(6);
  });

  it('still answers a lone command, and BullMQ-sized buffers mixed with strings keep their order', async () => {
    const redis = client(createProducerConnection(REDIS_URL));
    await ready(redis);
    expect(await redis.ping()).toBe('PONG');
    const big = Buffer.alloc(256 * 1024, 7);
    const [a, b, c] = await Promise.all([
      redis.set(`${prefix}:buf`, big, 'EX', 60),
      redis.strlen(`${prefix}:buf`),
      redis.getBuffer(`${prefix}:buf`),
    ]);
    expect(a).toBe('OK');
    expect(b).toBe(big.length);
    expect(c?.equals(big)).toBe(true);
  });

  it('coalesces again on the new socket after a reconnect', async () => {
    const redis = client(coalesceWrites(new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })));
    await ready(redis);
    const oldSocket = redis.stream;
    const id = await redis.client('ID');
    const admin = client(connectRedis());
    const reconnected = new Promise<void>((r) => redis.once('ready', () => r()));
    await admin.client('KILL', 'ID', String(id));
    await reconnected;
    expect(redis.stream).not.toBe(oldSocket);

    const counts = countTransportWrites(redis);
    await fromSeparateCallbacks(20, (i) => redis.set(`${prefix}:r${i}`, 'x', 'EX', 60));
    expect(counts.chunks).toBe(20);
    expect(counts.writes).toBeLessThanOrEqual(4);
  });

  it('flushes a command still held in the cork when the connection is closed in the same turn', async () => {
    const redis = createProducerConnection(REDIS_URL);
    await ready(redis);
    const set = redis.set(`${prefix}:last`, 'kept', 'EX', 60);
    const quit = redis.quit();
    expect(await set).toBe('OK');
    expect(await quit).toBe('OK');
    const admin = client(connectRedis());
    expect(await admin.get(`${prefix}:last`)).toBe('kept');
  });
});
