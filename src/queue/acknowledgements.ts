import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ReactionTarget } from '../domain/reaction-target.js';
import { RepoRef } from '../domain/task.js';
import { PullwrightError } from '../errors.js';
import type { Logger } from '../logger.js';
import { keyPrefix } from './queue-names.js';

/**
 * The 👀 that tells a requester their trigger was taken.
 *
 * The webhook app records the wish in a Redis stream once the job is safely
 * queued, and the workers' acknowledger posts the reaction. Why not the app:
 * an HTTP request to GitHub per trigger was the app's most expensive step, and
 * a webhook receiver should do as little as it can before answering (GitHub
 * gives it 10 s and counts slow answers as failures). The stream is durable,
 * read through a consumer group, and entries a crashed worker took are claimed
 * again by another, so a 👀 is late at worst, never lost while a worker runs.
 */
export const Acknowledgement = z.object({
  installationId: z.number().int().positive(),
  repo: RepoRef,
  target: ReactionTarget,
  requestedAt: z.iso.datetime(),
});
export type Acknowledgement = z.infer<typeof Acknowledgement>;

const GROUP = 'acknowledgers';
/**
 * A reaction is a courtesy, not work: if no worker runs for a long time, the
 * oldest unread wishes are trimmed rather than letting the stream grow without
 * bound. The job itself never depends on this stream.
 */
const MAX_STREAM_LENGTH = 100_000;

export function acknowledgementStream(prefix: string): string {
  return `${keyPrefix(prefix)}:acks`;
}

/** Records the wish; one XADD, auto-pipelined with the delivery's other commands. */
export async function requestAcknowledgement(
  redis: Redis,
  prefix: string,
  ack: Acknowledgement,
): Promise<void> {
  await redis.xadd(
    acknowledgementStream(prefix),
    'MAXLEN',
    '~',
    MAX_STREAM_LENGTH,
    '*',
    'ack',
    JSON.stringify(ack),
  );
}

export interface AcknowledgerOptions {
  /** Non-blocking commands (acks, claims). */
  redis: Redis;
  /** A connection of its own for the blocking read; the acknowledger closes it. */
  blocking: Redis;
  prefix: string;
  /** Unique per process: entries it took and never finished are claimed by others after `claimIdleMs`. */
  consumer: string;
  react: (ack: Acknowledgement) => Promise<void>;
  log: Logger;
  batch?: number;
  blockMs?: number;
  claimIdleMs?: number;
  /** Attempts per reaction for retryable GitHub errors (5xx, rate limits). */
  attempts?: number;
  retryDelayMs?: number;
}

export interface Acknowledger {
  stop(): Promise<void>;
}

type Entry = [id: string, fields: string[]];

function isBusyGroup(err: unknown): boolean {
  return err instanceof Error && err.message.includes('BUSYGROUP');
}

export async function startAcknowledger(options: AcknowledgerOptions): Promise<Acknowledger> {
  const { redis, blocking, prefix, consumer, log } = options;
  const stream = acknowledgementStream(prefix);
  const batch = options.batch ?? 32;
  const blockMs = options.blockMs ?? 5_000;
  const claimIdleMs = options.claimIdleMs ?? 60_000;
  const attempts = options.attempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  // '0': wishes recorded before any worker ever ran are read too.
  await redis.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM').catch((err: unknown) => {
    if (!isBusyGroup(err)) throw err;
  });

  let stopped = false;

  async function post(ack: Acknowledgement): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await options.react(ack);
        return;
      } catch (err) {
        const retryable = err instanceof PullwrightError ? err.retryable : true;
        if (!retryable || attempt >= attempts || stopped) throw err;
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs * attempt));
      }
    }
  }

  async function handle([id, fields]: Entry): Promise<void> {
    const raw = fields[fields.indexOf('ack') + 1];
    let ack: Acknowledgement | null = null;
    try {
      const parsed = Acknowledgement.safeParse(raw === undefined ? undefined : JSON.parse(raw));
      if (parsed.success) ack = parsed.data;
    } catch {
      // Not JSON: treated like any other malformed entry below.
    }
    if (ack === null) {
      log.warn({ entryId: id }, 'Acknowledgement dropped: malformed entry');
    } else {
      try {
        await post(ack);
        log.debug(
          { entryId: id, lagMs: Date.now() - Date.parse(ack.requestedAt), target: ack.target.kind },
          'Acknowledgement posted',
        );
      } catch (err) {
        // A missing 👀 must not hold the stream back: log it and move on.
        log.warn(
          { err, entryId: id, repo: `${ack.repo.owner}/${ack.repo.name}`, target: ack.target.kind },
          'Acknowledgement failed',
        );
      }
    }
    await redis.multi().xack(stream, GROUP, id).xdel(stream, id).exec();
  }

  async function handleAll(entries: Entry[]): Promise<void> {
    await Promise.all(entries.map((e) => handle(e)));
  }

  async function claimAbandoned(): Promise<void> {
    let cursor = '0-0';
    do {
      const [next, entries] = (await redis.xautoclaim(
        stream,
        GROUP,
        consumer,
        claimIdleMs,
        cursor,
        'COUNT',
        batch,
      )) as [string, Entry[], string[]?];
      cursor = next;
      // A trimmed entry comes back as null fields: acknowledge it away.
      const live = entries.filter((e): e is Entry => Array.isArray(e?.[1]));
      await handleAll(live);
    } while (cursor !== '0-0' && !stopped);
  }

  const loop = (async () => {
    let nextClaim = 0;
    while (!stopped) {
      try {
        if (Date.now() >= nextClaim) {
          await claimAbandoned();
          nextClaim = Date.now() + claimIdleMs / 2;
        }
        const result = (await blocking.xreadgroup(
          'GROUP',
          GROUP,
          consumer,
          'COUNT',
          batch,
          'BLOCK',
          blockMs,
          'STREAMS',
          stream,
          '>',
        )) as [string, Entry[]][] | null;
        if (result) await handleAll(result[0]?.[1] ?? []);
      } catch (err) {
        if (stopped) break;
        log.warn({ err }, 'Acknowledger read failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      // Ends a blocking read at once; entries it had taken stay pending and are claimed later.
      blocking.disconnect();
      await loop;
    },
  };
}
