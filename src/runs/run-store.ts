import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import type { Redis } from 'ioredis';
import { keyPrefix } from '../queue/queue-names.js';
import { RUN_ID_PATTERN, type RunEvent, RunMeta } from './run-event.js';

/**
 * The run records, in Redis (every app and worker process already reaches it):
 *
 * - `run:<id>:live`   a stream of the run's entries while it runs (pages read it live with XREAD);
 * - `run:<id>:record` once finished, the retained entries as one brotli-compressed JSON array;
 * - `run:<id>:meta`   the summary (JSON) lists and access checks read;
 * - `runs:repo:<slug>` and `runs:all` sorted sets by start time; `runs:sizes` the bytes of each
 *   finished record, so the total cap evicts the oldest first and the total stays exact.
 *
 * Every key expires after the retention; the indexes are pruned of expired runs on each finish.
 * Entries arrive already redacted and capped (worker/run-record): the store only keeps bounds.
 */
export interface RunStoreOptions {
  redis: Redis;
  prefix: string;
  /** Per-run cap of retained entries, in bytes of JSON (RUN_RECORD_MAX_BYTES). */
  maxRunBytes: number;
  retentionDays: number;
  /** All finished records together (RUN_STORE_MAX_BYTES): the oldest are evicted beyond it. */
  maxTotalBytes: number;
  now?: () => number;
}

export interface StoredEntry {
  streamId: string;
  event: RunEvent;
}

export interface RunRecord {
  meta: RunMeta;
  events: RunEvent[];
  /** The stream id after which live entries follow ('' when the run is finished). */
  lastStreamId: string;
}

/** After a finish, the live stream stays this long so open pages read its last entries. */
const LIVE_TAIL_SECONDS = 120;

export type RunStore = ReturnType<typeof createRunStore>;

export function runRepoSlug(repo: string): string {
  return repo.toLowerCase();
}

export function createRunStore(options: RunStoreOptions) {
  const { redis } = options;
  const kp = keyPrefix(options.prefix);
  const now = options.now ?? Date.now;
  const ttl = options.retentionDays * 86_400;
  const keys = {
    meta: (id: string) => `${kp}:run:${id}:meta`,
    live: (id: string) => `${kp}:run:${id}:live`,
    record: (id: string) => `${kp}:run:${id}:record`,
    repo: (repo: string) => `${kp}:runs:repo:${runRepoSlug(repo)}`,
    all: `${kp}:runs:all`,
    sizes: `${kp}:runs:sizes`,
  };

  async function deleteRun(id: string, repo: string | null): Promise<void> {
    const multi = redis
      .multi()
      .del(keys.meta(id), keys.live(id), keys.record(id))
      .zrem(keys.all, id)
      .hdel(keys.sizes, id);
    if (repo) multi.zrem(keys.repo(repo), id);
    await multi.exec();
  }

  async function getMeta(id: string): Promise<RunMeta | null> {
    if (!RUN_ID_PATTERN.test(id)) return null;
    const raw = await redis.get(keys.meta(id));
    if (raw === null) return null;
    const parsed = RunMeta.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  }

  return {
    options,
    keys,

    /** Registers a new run: its summary and its place in the indexes. */
    async begin(meta: RunMeta): Promise<void> {
      await redis
        .multi()
        .set(keys.meta(meta.id), JSON.stringify(meta), 'EX', ttl)
        .zadd(keys.all, meta.startedAt, meta.id)
        .zadd(keys.repo(meta.repo), meta.startedAt, meta.id)
        .expire(keys.repo(meta.repo), ttl)
        .exec();
    },

    /**
     * Adds entries to the live stream, drops `drop` (stream ids the per-run cap let go of),
     * and rewrites the summary. Returns the new entries' stream ids, in order.
     */
    async append(meta: RunMeta, events: RunEvent[], drop: string[] = []): Promise<string[]> {
      const multi = redis.multi();
      for (const event of events) multi.xadd(keys.live(meta.id), '*', 'e', JSON.stringify(event));
      if (drop.length > 0) multi.xdel(keys.live(meta.id), ...drop);
      multi.expire(keys.live(meta.id), ttl).set(keys.meta(meta.id), JSON.stringify(meta), 'EX', ttl);
      const results = (await multi.exec()) ?? [];
      return results.slice(0, events.length).map(([err, id]) => {
        if (err) throw err;
        return String(id);
      });
    },

    /**
     * Keeps the finished run compactly: the retained entries compressed into one value, the
     * stream left to expire shortly (pages that are open read its last entries), then the
     * expired runs pruned and the oldest evicted while the total is over the cap.
     */
    async finish(meta: RunMeta, events: RunEvent[]): Promise<number> {
      const packed = brotliCompressSync(Buffer.from(JSON.stringify(events)), {
        params: { [constants.BROTLI_PARAM_QUALITY]: 6 },
      });
      const finished: RunMeta = { ...meta, bytes: packed.length };
      await redis
        .multi()
        .set(keys.record(meta.id), packed, 'EX', ttl)
        .set(keys.meta(meta.id), JSON.stringify(finished), 'EX', ttl)
        .expire(keys.live(meta.id), LIVE_TAIL_SECONDS)
        .hset(keys.sizes, meta.id, packed.length)
        .exec();
      await this.prune();
      return packed.length;
    },

    getMeta,

    /** The run's summary and retained entries, whether it is still running or finished. */
    async getRecord(id: string): Promise<RunRecord | null> {
      const meta = await getMeta(id);
      if (meta === null) return null;
      if (meta.state === 'finished') {
        const packed = await redis.getBuffer(keys.record(id));
        if (packed !== null) {
          const events = JSON.parse(brotliDecompressSync(packed).toString('utf8')) as RunEvent[];
          return { meta, events, lastStreamId: '' };
        }
      }
      const entries = await redis.xrange(keys.live(id), '-', '+');
      return {
        meta,
        events: entries.map(([, fields]) => JSON.parse(fields[1] ?? '{}') as RunEvent),
        lastStreamId: entries.at(-1)?.[0] ?? '0-0',
      };
    },

    /**
     * Entries after `afterId`, waiting up to `blockMs` for one. `reader` must be a connection of
     * its own: XREAD BLOCK holds it for the wait.
     */
    async readLive(reader: Redis, id: string, afterId: string, blockMs: number): Promise<StoredEntry[]> {
      const answer = (await reader.xread('BLOCK', blockMs, 'STREAMS', keys.live(id), afterId)) as
        | [string, [string, string[]][]][]
        | null;
      const entries = answer?.[0]?.[1] ?? [];
      return entries.map(([streamId, fields]) => ({
        streamId,
        event: JSON.parse(fields[1] ?? '{}') as RunEvent,
      }));
    },

    /** The repository's runs, newest first. */
    async listRepo(repo: string, limit = 50): Promise<RunMeta[]> {
      const ids = await redis.zrevrange(keys.repo(repo), 0, limit - 1);
      if (ids.length === 0) return [];
      const raws = await redis.mget(ids.map(keys.meta));
      const out: RunMeta[] = [];
      for (const raw of raws) {
        if (raw === null) continue;
        const parsed = RunMeta.safeParse(JSON.parse(raw));
        if (parsed.success) out.push(parsed.data);
      }
      return out;
    },

    async totalBytes(): Promise<number> {
      const sizes = await redis.hvals(keys.sizes);
      return sizes.reduce((sum, n) => sum + Number(n), 0);
    },

    /**
     * Drops runs past the retention from the indexes (their keys expired already, or are
     * deleted now), then evicts the oldest finished records while the total is over the cap.
     */
    async prune(): Promise<{ expired: number; evicted: number }> {
      const cutoff = now() - options.retentionDays * 86_400_000;
      const old = await redis.zrangebyscore(keys.all, '-inf', cutoff);
      for (const id of old) {
        const meta = await getMeta(id);
        await deleteRun(id, meta?.repo ?? null);
      }
      let evicted = 0;
      let total = await this.totalBytes();
      while (total > options.maxTotalBytes) {
        const oldest = await redis.zrange(keys.all, '0', '19');
        if (oldest.length === 0) break;
        let progressed = false;
        for (const id of oldest) {
          if (total <= options.maxTotalBytes) break;
          const size = Number((await redis.hget(keys.sizes, id)) ?? '-1');
          // A run still going has no size yet: it is not evicted under its writer.
          if (size < 0) continue;
          const meta = await getMeta(id);
          await deleteRun(id, meta?.repo ?? null);
          total -= size;
          evicted += 1;
          progressed = true;
        }
        if (!progressed) break;
      }
      return { expired: old.length, evicted };
    },
  };
}
