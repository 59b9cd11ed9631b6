import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMaintenanceCaps } from '../../src/queue/maintenance-caps.js';
import { acquireSlot, releaseSlot, renewSlot } from '../../src/queue/slots.js';
import { connectRedis, deletePrefix, uniquePrefix } from './redis-helpers.js';

const a = { owner: 'octo', name: 'a' };
const b = { owner: 'octo', name: 'b' };
const c = { owner: 'octo', name: 'c' };

describe('slots (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  beforeEach(() => {
    redis = connectRedis();
    prefix = uniquePrefix('slots');
  });
  afterEach(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('enforces per-repo and per-installation limits and frees on release', async () => {
    const limits = { perRepo: 1, perInstallation: 2, ttlMs: 60_000 };
    const first = await acquireSlot(redis, prefix, { installationId: 1, repo: a }, limits);
    expect(first).not.toBeNull();
    expect(await acquireSlot(redis, prefix, { installationId: 1, repo: a }, limits)).toBeNull();
    const second = await acquireSlot(redis, prefix, { installationId: 1, repo: b }, limits);
    expect(second).not.toBeNull();
    expect(await acquireSlot(redis, prefix, { installationId: 1, repo: c }, limits)).toBeNull();
    // Another installation has its own budget.
    expect(await acquireSlot(redis, prefix, { installationId: 2, repo: c }, limits)).not.toBeNull();
    if (!first) throw new Error('unreachable');
    await releaseSlot(redis, prefix, first);
    expect(await acquireSlot(redis, prefix, { installationId: 1, repo: a }, limits)).not.toBeNull();
  });

  it('lets an expired lease go, and a renewed one stay', async () => {
    // Long enough that a loaded machine renews in time; the sleeps outlast it.
    const short = { perRepo: 1, perInstallation: 5, ttlMs: 1_000 };
    const lease = await acquireSlot(redis, prefix, { installationId: 1, repo: a }, short);
    if (!lease) throw new Error('no lease');
    expect(await renewSlot(redis, prefix, lease, 60_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 1_300));
    expect(await acquireSlot(redis, prefix, { installationId: 1, repo: a }, short)).toBeNull();

    const crashed = await acquireSlot(redis, prefix, { installationId: 1, repo: b }, short);
    if (!crashed) throw new Error('no lease');
    await new Promise((r) => setTimeout(r, 1_300));
    expect(await renewSlot(redis, prefix, crashed, 60_000)).toBe(false);
    expect(await acquireSlot(redis, prefix, { installationId: 1, repo: b }, short)).not.toBeNull();
  });
});

describe('maintenance caps (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  beforeEach(() => {
    redis = connectRedis();
    prefix = uniquePrefix('caps');
  });
  afterEach(async () => {
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });

  it('limits open PRs and new PRs per hour', async () => {
    let now = Date.now();
    const caps = createMaintenanceCaps(redis, prefix, () => now);
    const task = { id: 'deps', maxOpenPrs: 2, maxNewPrsPerHour: 1 };
    expect(await caps.check(a, task)).toEqual({ ok: true });
    await caps.recordOpened(a, 'deps', 11);
    const hourly = await caps.check(a, task);
    expect(hourly.ok).toBe(false);
    expect(hourly.reason).toContain('last hour');
    now += 61 * 60 * 1000;
    expect(await caps.check(a, task)).toEqual({ ok: true });
    await caps.recordOpened(a, 'deps', 12);
    now += 61 * 60 * 1000;
    const open = await caps.check(a, task);
    expect(open.ok).toBe(false);
    expect(open.reason).toContain('open PRs');
    await caps.recordClosed(a, 11);
    expect(await caps.check(a, task)).toEqual({ ok: true });
    // Other repos and tasks are independent.
    expect(await caps.check(b, task)).toEqual({ ok: true });
  });
});
