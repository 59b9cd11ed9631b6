import type { RedisOptions as BullRedisOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/env.js';
import { PullwrightError } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * The one place that turns configuration into Redis connections: a plain URL, or
 * a primary found through Redis Sentinel (`REDIS_SENTINELS` + `REDIS_MASTER_NAME`),
 * for teams that run Redis on more than one machine.
 *
 * Behind Sentinel, ioredis asks the sentinels where the primary is, checks the
 * node it reaches really is the primary, and asks again on every reconnect, so a
 * failover is a reconnect like any other. Each caller keeps its own semantics on
 * top: blocking connections (`maxRetriesPerRequest: null`) wait for the new
 * primary, the app's fail-fast connection answers webhooks 5xx meanwhile.
 */
export interface SentinelAddress {
  host: string;
  port: number;
}

export type RedisTarget =
  | { url: string; password?: string }
  | { sentinels: SentinelAddress[]; name: string; password?: string; sentinelPassword?: string };

export type RedisConfig = Pick<
  Config,
  'REDIS_URL' | 'REDIS_SENTINELS' | 'REDIS_MASTER_NAME' | 'REDIS_PASSWORD' | 'REDIS_SENTINEL_PASSWORD'
>;

/** Sentinel when sentinels are configured (env.ts refuses them without a master name), else the URL. */
export function redisTargetFromConfig(config: RedisConfig): RedisTarget {
  const password = config.REDIS_PASSWORD;
  if (config.REDIS_SENTINELS.length > 0 && config.REDIS_MASTER_NAME) {
    return {
      sentinels: config.REDIS_SENTINELS.map(({ host, port }) => ({ host, port })),
      name: config.REDIS_MASTER_NAME,
      ...(password ? { password } : {}),
      ...(config.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: config.REDIS_SENTINEL_PASSWORD } : {}),
    };
  }
  return { url: config.REDIS_URL, ...(password ? { password } : {}) };
}

/** A bare string is a Redis URL (tests and benches pass one). */
function asTarget(target: RedisTarget | string): RedisTarget {
  return typeof target === 'string' ? { url: target } : target;
}

/**
 * ioredis options for a Sentinel target, merged under the caller's. A replica
 * promoted while we are connected to the old primary (a manual `SENTINEL
 * FAILOVER`, a network split healing) answers writes with READONLY: reconnect,
 * which asks the sentinels again, and resend the command.
 */
function sentinelOptions(
  target: Extract<RedisTarget, { sentinels: unknown }>,
  options: RedisOptions,
): RedisOptions {
  return {
    sentinels: target.sentinels,
    name: target.name,
    ...(target.password ? { password: target.password } : {}),
    ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
    // No `failoverDetector` (ioredis's +switch-master listener, off by default): a failover
    // announced while a client was between sentinels on a reconnect ended that client for
    // good ("Connection is closed." on every command; tests/ha/sentinel-failover.test.ts).
    // A crashed primary closes our connections; a demoted one answers writes (blocking pops
    // included) with READONLY, which reconnects below: either way the sentinels are asked again.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
    ...options,
  };
}

/**
 * A new ioredis client for the target; `options` are the caller's (retries, offline queue).
 * With `log`, connection errors (every failed reconnect during a failover) become one warn
 * line each instead of ioredis's "Unhandled error event" stack traces on stderr.
 */
export function createRedis(
  target: RedisTarget | string,
  options: RedisOptions = {},
  log?: Pick<Logger, 'warn'>,
): Redis {
  const t = asTarget(target);
  const client =
    'sentinels' in t
      ? new Redis(sentinelOptions(t, options))
      : // The URL's own password wins over REDIS_PASSWORD (ioredis keeps URL fields first).
        new Redis(t.url, { ...(t.password ? { password: t.password } : {}), ...options });
  if (log)
    client.on('error', (err: Error) => log.warn({ err: { message: err.message } }, 'Redis connection error'));
  return client;
}

/** BullMQ's `connection` option (it creates its own clients, blocking ones included, from it). */
export function bullConnection(target: RedisTarget | string, options: RedisOptions = {}): BullRedisOptions {
  const t = asTarget(target);
  // BullMQ's option type is a loose copy of ioredis's (its retryStrategy may not return null).
  if ('sentinels' in t) return sentinelOptions(t, options) as BullRedisOptions;
  // BullMQ builds `new Redis(url, rest)`: the URL's own password wins here too.
  return { url: t.url, ...(t.password ? { password: t.password } : {}), ...options } as BullRedisOptions;
}

/**
 * Options that name Redis either way: `redisTarget` (URL or Sentinel) wins over the older
 * `redisUrl`. One of them is required; both stay until every caller passes a target.
 */
export function targetOf(options: { redisTarget?: RedisTarget; redisUrl?: string }): RedisTarget {
  if (options.redisTarget) return options.redisTarget;
  if (options.redisUrl) return { url: options.redisUrl };
  throw new PullwrightError('config_invalid', 'No Redis to connect to: pass redisTarget or redisUrl', {
    retryable: false,
  });
}
