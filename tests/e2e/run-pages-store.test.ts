import { brotliDecompressSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/logger.js';
import { createCostLedger } from '../../src/runs/cost-ledger.js';
import { budgetRefusalText, checkMonthlyBudget } from '../../src/runs/monthly-budget.js';
import { createRunStore } from '../../src/runs/run-store.js';
import { createRunRecorder } from '../../worker/run-record/run-recorder.js';
import { connectRedis, deletePrefix, uniquePrefix } from '../queue/redis-helpers.js';
import { DEMO_PATCH, implementTask, sessionResult } from '../runs/run-fixtures.js';

const log = createSilentLogger();
let redis: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  redis = connectRedis();
});
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  redis.disconnect();
});

function setup(
  over: Partial<{
    maxRunBytes: number;
    maxTotalBytes: number;
    retentionDays: number;
    now: () => number;
  }> = {},
) {
  const prefix = uniquePrefix('runs');
  prefixes.push(prefix);
  const store = createRunStore({
    redis,
    prefix,
    maxRunBytes: over.maxRunBytes ?? 1_048_576,
    maxTotalBytes: over.maxTotalBytes ?? 268_435_456,
    retentionDays: over.retentionDays ?? 30,
    now: over.now,
  });
  const ledger = createCostLedger(redis, prefix, over.now);
  return { prefix, store, ledger };
}

/** Every value under the prefix as text (compressed records decompressed): what an attacker with Redis would read. */
async function everything(prefix: string): Promise<string> {
  const keys = await redis.keys(`${prefix}:*`);
  let all = '';
  for (const key of keys) {
    const type = await redis.type(key);
    if (type === 'string') {
      const buf = (await redis.getBuffer(key)) as Buffer;
      all += key.endsWith(':record') ? brotliDecompressSync(buf).toString() : buf.toString();
    } else if (type === 'stream') all += JSON.stringify(await redis.xrange(key, '-', '+'));
    else if (type === 'hash') all += JSON.stringify(await redis.hgetall(key));
  }
  return all;
}

describe('run store and recorder (real Redis)', () => {
  it('records a run live, then keeps it compactly, with every secret redacted', async () => {
    const { prefix, store, ledger } = setup();
    const secrets = ['ghs_installationtoken1234567890abcdef'];
    const recorder = createRunRecorder({
      store,
      ledger,
      task: implementTask(),
      jobId: 'job-1',
      secrets,
      publicUrl: 'https://pw.example.com/',
      log,
    });
    expect(recorder.url).toBe(`https://pw.example.com/runs/${recorder.runId}`);
    recorder.started({ title: 'Add a greeting' });
    recorder.onSession({ type: 'phase', phase: 'agent' });
    recorder.onSession({ type: 'plan', items: [{ step: 'Read the code', status: 'in_progress' }] });
    recorder.onSession({
      type: 'tool',
      name: 'bash',
      summary: 'cat .env',
      durationMs: 12,
      isError: false,
      // The loop's richer event: input and output (output holds the run's token and a key shape).
      ...({
        turn: 1,
        input: { command: 'cat .env' },
        output: `TOKEN=${secrets[0]}\nKEY=sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789`,
      } as object),
    } as never);
    recorder.onSession({
      type: 'turn',
      turn: 1,
      usage: { input: 100, output: 20, cacheRead: 0, cacheWrite: 0 },
      ...({ costUsd: 0.01 } as object),
    } as never);
    await recorder.flushed();

    const live = await store.getRecord(recorder.runId);
    expect(live?.meta.state).toBe('running');
    expect(live?.events.map((e) => e.t)).toEqual(['started', 'phase', 'plan', 'tool', 'turn']);
    expect(live?.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);

    recorder.session(sessionResult(DEMO_PATCH, 0.42));
    recorder.delivered({
      prNumber: 13,
      prUrl: 'http://github.test/acme/widgets/pull/13',
      branch: 'pullwright/issue-12',
    });
    recorder.finish({ status: 'succeeded', prNumber: 13 });
    await recorder.flushed();

    const done = await store.getRecord(recorder.runId);
    expect(done?.meta).toMatchObject({
      state: 'finished',
      outcome: 'succeeded',
      prNumber: 13,
      costUsd: 0.42,
      requester: 'alice',
    });
    expect(done?.events.map((e) => e.t)).toEqual([
      'started',
      'phase',
      'plan',
      'tool',
      'turn',
      'plan',
      'verify',
      'blocked',
      'diff',
      'delivered',
      'outcome',
    ]);
    expect(done?.lastStreamId).toBe('');
    expect(await redis.exists(store.keys.record(recorder.runId))).toBe(1);
    expect(await redis.ttl(store.keys.live(recorder.runId))).toBeLessThanOrEqual(120);
    expect(await redis.ttl(store.keys.meta(recorder.runId))).toBeGreaterThan(29 * 86_400);

    const stored = await everything(prefix);
    expect(stored).toContain('TOKEN=[REDACTED]');
    expect(stored).not.toContain(secrets[0]);
    expect(stored).not.toContain('sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789');

    // The month's counters: one run, the loop's total cost (the unpriced remainder added at the session's end).
    const mtd = await ledger.monthToDate({ installationId: 41, repo: 'Acme/Widgets' });
    expect(mtd.repo.runs).toBe(1);
    expect(mtd.installation.costUsd).toBeCloseTo(0.42, 6);
    expect(mtd.repo.inputTokens).toBe(100);
    const list = await store.listRepo('acme/widgets');
    expect(list.map((m) => m.id)).toEqual([recorder.runId]);
  });

  it('keeps head and tail under the per-run cap, the pinned entries always', async () => {
    const { store } = setup({ maxRunBytes: 40_000 });
    const recorder = createRunRecorder({ store, task: implementTask(), jobId: 'job-cap', secrets: [], log });
    recorder.started({ title: 'long one' });
    for (let i = 1; i <= 200; i++) {
      recorder.onSession({
        type: 'tool',
        name: 'bash',
        summary: `step ${i}`,
        durationMs: 1,
        isError: false,
        ...({ output: `out ${i} `.repeat(100) } as object),
      } as never);
    }
    recorder.session(sessionResult(DEMO_PATCH));
    recorder.finish({ status: 'succeeded' });
    await recorder.flushed();
    const record = await store.getRecord(recorder.runId);
    const events = record?.events ?? [];
    const bytes = events.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0);
    expect(bytes).toBeLessThanOrEqual(40_000);
    const summaries = events.flatMap((e) => (e.t === 'tool' ? [e.summary] : []));
    expect(summaries[0]).toBe('step 1');
    expect(summaries.at(-1)).toBe('step 200');
    expect(summaries.length).toBeLessThan(200);
    expect(events.map((e) => e.t)).toEqual(expect.arrayContaining(['started', 'verify', 'diff', 'outcome']));
    expect(record?.meta.omitted).toBe(200 - summaries.length);
    // The sequence numbers show the gap the page reports.
    const seqs = events.map((e) => e.seq);
    expect(seqs.some((s, i) => i > 0 && s !== (seqs[i - 1] as number) + 1)).toBe(true);
  });

  it('evicts the oldest finished runs beyond the total cap and prunes runs past the retention', async () => {
    let clock = Date.parse('2026-12-01T00:00:00Z');
    const { store } = setup({ maxTotalBytes: 2_000, now: () => clock });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      clock += 60_000;
      const r = createRunRecorder({
        store,
        task: implementTask(),
        jobId: `job-${i}`,
        secrets: [],
        log,
        now: () => clock,
      });
      r.started({ title: `run ${i}` });
      for (let j = 0; j < 20; j++)
        r.onSession({ type: 'status', message: `${i}-${j}-${Math.random().toString(36).repeat(8)}` });
      r.finish({ status: 'succeeded' });
      await r.flushed();
      ids.push(r.runId);
    }
    expect(await store.totalBytes()).toBeLessThanOrEqual(2_000);
    const left = (await store.listRepo('acme/widgets')).map((m) => m.id);
    expect(left.length).toBeGreaterThan(0);
    expect(left.length).toBeLessThan(6);
    // Newest kept, oldest gone.
    expect(left[0]).toBe(ids[5]);
    expect(await store.getMeta(ids[0] as string)).toBeNull();

    clock += 31 * 86_400_000;
    const pruned = await store.prune();
    expect(pruned.expired).toBe(left.length);
    expect(await store.listRepo('acme/widgets')).toEqual([]);
    expect(await store.totalBytes()).toBe(0);
  });

  it('refuses a run over the monthly budget and narrows the rest to what is left', async () => {
    const { ledger } = setup();
    await ledger.add({ installationId: 5, repo: 'o/a', costUsd: 6, runs: 1 });
    await ledger.add({ installationId: 5, repo: 'o/b', costUsd: 3, runs: 1 });
    expect(
      await checkMonthlyBudget(ledger, {
        installationId: 5,
        repo: 'o/a',
        installationLimitUsd: null,
        repoLimitUsd: null,
      }),
    ).toEqual({ status: 'ok', remainingUsd: null });
    const ok = await checkMonthlyBudget(ledger, {
      installationId: 5,
      repo: 'o/b',
      installationLimitUsd: 10,
      repoLimitUsd: null,
    });
    expect(ok.status).toBe('ok');
    expect(ok.status === 'ok' && ok.remainingUsd).toBeCloseTo(1, 6);
    const repoOver = await checkMonthlyBudget(ledger, {
      installationId: 5,
      repo: 'o/a',
      installationLimitUsd: 10,
      repoLimitUsd: 5,
    });
    expect(repoOver).toMatchObject({ status: 'over', scope: 'repository', spentUsd: 6, limitUsd: 5 });
    await ledger.add({ installationId: 5, repo: 'o/b', costUsd: 1.5 });
    const over = await checkMonthlyBudget(ledger, {
      installationId: 5,
      repo: 'o/b',
      installationLimitUsd: 10,
      repoLimitUsd: null,
    });
    expect(over).toMatchObject({ status: 'over', scope: 'installation' });
    if (over.status === 'over') expect(budgetRefusalText(over)).toContain('$10.50 of $10.00');
    const summary = await ledger.monthSummary();
    expect(summary.installations[0]).toMatchObject({ installationId: 5, runs: 2 });
    expect(summary.repos.map((r) => r.repo)).toEqual(['o/a', 'o/b']);
  });
});
