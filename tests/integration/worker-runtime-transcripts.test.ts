import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { localRedisUrl } from '../../scripts/local-redis-url.js';
import { parseConfig } from '../../src/config/env.js';
import { createSilentLogger } from '../../src/logger.js';
import { startWorkerRuntime } from '../../worker/create-worker-runtime.js';

/** The worker's transcripts: a private folder, pruned at start (issue 14 item 10, wired by the runtime). */
describe('worker runtime transcripts', { timeout: 60_000 }, () => {
  const dirs: string[] = [];
  const prefix = `pw-transcripts-${process.pid}-${Date.now().toString(36)}`;
  afterAll(async () => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    // The runtime's queue and acknowledgement keys, all under this test's own prefix.
    const redis = new Redis(localRedisUrl());
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const configFor = (workDir: string) =>
    parseConfig('worker', {
      APP_ID: '1',
      PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      APP_SLUG: 'pullwright',
      REDIS_URL: localRedisUrl(),
      QUEUE_PREFIX: prefix,
      WORK_DIR: workDir,
      RUNS_DIR: join(workDir, 'runs'),
      TRANSCRIPT_RETENTION_DAYS: '30',
    });
  const workDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'pw-runtime-'));
    dirs.push(d);
    mkdirSync(join(d, 'transcripts'), { mode: 0o700 });
    return d;
  };
  const agent = { run: async () => Promise.reject(new Error('no agent in this test')) };

  it('refuses to start on a transcript folder others can write to', async () => {
    const d = workDir();
    chmodSync(join(d, 'transcripts'), 0o777);
    await expect(
      startWorkerRuntime({
        config: configFor(d),
        log: createSilentLogger(),
        agent,
        reapIntervalMs: 3_600_000,
      }),
    ).rejects.toMatchObject({ code: 'config_invalid' });
  });

  it('removes transcripts past the retention at start and keeps recent ones', async () => {
    const d = workDir();
    const old = join(d, 'transcripts', 'old.jsonl');
    const recent = join(d, 'transcripts', 'recent.jsonl');
    writeFileSync(old, '{}\n', { mode: 0o600 });
    writeFileSync(recent, '{}\n', { mode: 0o600 });
    const days = (n: number) => new Date(Date.now() - n * 86_400_000);
    utimesSync(old, days(40), days(40));
    utimesSync(recent, days(1), days(1));
    const runtime = await startWorkerRuntime({
      config: configFor(d),
      log: createSilentLogger(),
      agent,
      reapIntervalMs: 3_600_000,
    });
    try {
      expect(existsSync(old)).toBe(false);
      expect(existsSync(recent)).toBe(true);
    } finally {
      await runtime.close(1_000);
    }
  });
});
