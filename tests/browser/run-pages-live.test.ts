import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/logger.js';
import { startTaskWorker } from '../../src/queue/task-worker.js';
import { REDIS_URL } from '../queue/redis-helpers.js';
import { type PagesHarness, recordDemoRun, signIn, startPagesHarness } from '../runs/pages-harness.js';
import { visibleText, withPage } from './chromium.js';

/**
 * Live runs in Debian's Chromium: lines arrive without a reload, nobody without
 * access learns a run exists, payloads in a run stay text, and a writer stops a
 * job that a real task worker is running.
 */
// What the page functions below touch in the browser (serialized and run there, not in Node).
declare const document: {
  body: { innerText: string; textContent: string | null };
  getElementById(id: string): { textContent: string | null } | null;
};
declare const window: Record<string, unknown>;
type HTMLInputElement = { value: string };

let h: PagesHarness;

beforeAll(async () => {
  h = await startPagesHarness();
});
afterAll(async () => {
  await h?.close();
});

const tool = (name: string, summary: string, output: string) =>
  ({
    type: 'tool',
    name,
    summary,
    durationMs: 5,
    isError: false,
    turn: 1,
    input: { command: summary },
    output,
  }) as never;

describe('live run pages', () => {
  it('shows a run in progress update live, then its outcome', async () => {
    const recorder = h.recorder();
    recorder.started({ title: 'Live one' });
    recorder.onSession({ type: 'plan', items: [{ step: 'Write the code', status: 'in_progress' }] });
    await recorder.flushed();
    const latencies: number[] = [];
    await withPage(async (page) => {
      await signIn(page, `${h.app.url}/runs/${recorder.runId}`, 'bob', h.tokens.bob);
      expect(await page.$('.live')).not.toBeNull();
      // The first line also waits for the page's EventSource to connect: not counted.
      recorder.onSession(tool('bash', 'echo live-0', 'live-0'));
      await page.waitForFunction(() => document.body.textContent?.includes('$ echo live-0'), {
        timeout: 10_000,
      });
      for (let i = 1; i <= 10; i++) {
        const t0 = performance.now();
        recorder.onSession(tool('bash', `echo live-${i}`, `live-${i}`));
        await page.waitForFunction(
          (n) => document.body.textContent?.includes(`$ echo live-${n}`),
          { timeout: 10_000 },
          i,
        );
        latencies.push(performance.now() - t0);
      }
      recorder.onSession({ type: 'plan', items: [{ step: 'Write the code', status: 'completed' }] });
      await page.waitForSelector('ul.plan input:checked', { timeout: 10_000 });
      expect(page.url()).toBe(`${h.app.url}/runs/${recorder.runId}`);
      recorder.finish({ status: 'succeeded' });
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'succeeded', {
        timeout: 15_000,
      });
      expect(await page.$('.live')).toBeNull();
    });
    latencies.sort((a, b) => a - b);
    const p50 = latencies[Math.floor(latencies.length / 2)] as number;
    process.stdout.write(
      `[run-pages] tool call → line on an open page: p50 ${p50.toFixed(0)} ms, max ${latencies.at(-1)?.toFixed(0)} ms\n`,
    );
    expect(p50).toBeLessThan(1000);
  });

  it('answers a signed-in user without access with the same 404 as a missing run', async () => {
    const recorder = h.recorder();
    await recordDemoRun(recorder);
    // Not signed in: every run path, existing or not, sends to sign-in alike.
    const anon = await fetch(`${h.app.url}/runs/${recorder.runId}`, { redirect: 'manual' });
    const anonMissing = await fetch(`${h.app.url}/runs/r_doesnotexist00000000`, { redirect: 'manual' });
    expect(anon.status).toBe(302);
    expect(anon.headers.get('location')).toBe(`/login?next=${encodeURIComponent(`/runs/${recorder.runId}`)}`);
    expect(anonMissing.status).toBe(302);
    await withPage(async (page) => {
      await signIn(page, `${h.app.url}/runs/${recorder.runId}`, 'eve', h.tokens.eve);
      const seen = await page.goto(`${h.app.url}/runs/${recorder.runId}`);
      const seenBody = await seen?.text();
      const missing = await page.goto(`${h.app.url}/runs/r_doesnotexist00000000`);
      expect(seen?.status()).toBe(404);
      expect(missing?.status()).toBe(404);
      expect(seenBody).toBe(await missing?.text());
      expect(await visibleText(page)).not.toContain('greeting');
      const events = await page.goto(`${h.app.url}/runs/${recorder.runId}/events`);
      expect(events?.status()).toBe(404);
      const list = await page.goto(`${h.app.url}/repos/acme/widgets/runs`);
      expect(list?.status()).toBe(404);
    });
  });

  it('renders script and markup payloads in every field as text; none executes', async () => {
    const payload = (field: string) =>
      `<script>window.__pw='${field}'</script><img src=x onerror="window.__pw='${field}-img'"><b>${field}</b>`;
    const recorder = h.recorder({ instruction: payload('instruction'), actor: 'alice' });
    recorder.started({ title: payload('title') });
    recorder.onSession({ type: 'plan', items: [{ step: payload('plan'), status: 'pending' }] });
    recorder.onSession(tool('bash', payload('command'), payload('output')));
    recorder.onSession({
      type: 'tool',
      name: 'str_replace_based_edit_tool',
      summary: 'x',
      durationMs: 1,
      isError: false,
      ...({
        input: { command: 'create', path: payload('path'), file_text: payload('file') },
        output: 'ok',
      } as object),
    } as never);
    recorder.onSession({
      type: 'turn',
      turn: 1,
      usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 },
      ...({ costUsd: 0, text: payload('model') } as object),
    } as never);
    recorder.onSession({ type: 'status', message: payload('status') });
    recorder.delivered({ branch: payload('branch'), prUrl: 'javascript:window.__pw="href"' });
    recorder.finish({ status: 'failed', reason: payload('reason') });
    await recorder.flushed();
    await withPage(async (page) => {
      await signIn(page, `${h.app.url}/runs/${recorder.runId}`, 'bob', h.tokens.bob);
      const response = await page.reload();
      expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
      expect(response?.headers()['content-security-policy']).not.toContain('unsafe-inline');
      await new Promise((r) => setTimeout(r, 300));
      expect(await page.evaluate(() => window.__pw)).toBeUndefined();
      expect(await page.$$eval('img', (els) => els.length)).toBe(0);
      expect(await page.$$eval('b', (els) => els.length)).toBe(0);
      expect(await page.$$eval('script', (els) => els.map((e) => e.getAttribute('src')))).toEqual([
        '/runs-assets/run-page.js',
      ]);
      expect(await page.$$eval('a[href^="javascript:"]', (els) => els.length)).toBe(0);
      const text = await page.evaluate(() => document.body.textContent ?? '');
      for (const field of [
        'title',
        'instruction',
        'plan',
        'command',
        'output',
        'path',
        'file',
        'status',
        'branch',
        'reason',
      ])
        expect(text, field).toContain(`<script>window.__pw='${field}'</script>`);
      // Model text sits in a folded turn: present as text as well.
      expect(text).toContain("<script>window.__pw='model'</script>");
    });
  });

  it('lets a writer stop a job a real task worker is running; a reader cannot', async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    let runId = '';
    const worker = await startTaskWorker({
      redisUrl: REDIS_URL,
      prefix: h.prefix,
      redis,
      subscriber: new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
      concurrency: 1,
      limits: { perRepo: 1, perInstallation: 1 },
      log: createSilentLogger(),
      process: async (task, ctx) => {
        const recorder = h.recorder({ number: 'number' in task ? task.number : 1 }, ctx.jobId);
        runId = recorder.runId;
        recorder.started({ title: 'A job to stop' });
        recorder.onSession({ type: 'phase', phase: 'agent' });
        await new Promise<void>((resolve) => {
          if (ctx.signal.aborted) resolve();
          ctx.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        recorder.finish({ status: 'cancelled', reason: 'Stopped from the run page.' });
        await recorder.flushed();
        return { status: 'cancelled' };
      },
    });
    try {
      await h.app.taskQueue.enqueueTask(h.task({ number: 77 }), { deliveryId: 'stop-test-1' });
      const deadline = Date.now() + 20_000;
      while (!runId && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(runId).not.toBe('');
      const url = `${h.app.url}/runs/${runId}`;
      await withPage(async (page) => {
        await signIn(page, url, 'bob', h.tokens.bob);
        expect(await page.$('#stop')).toBeNull();
        // A reader's forged stop, with a token from another action, is refused.
        const cookie = (await page.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
        const csrf = await page.$eval('input[name=csrf]', (e) => (e as HTMLInputElement).value);
        const forged = await fetch(`${url}/stop`, {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: `csrf=${encodeURIComponent(csrf)}`,
        });
        expect(forged.status).toBe(403);
      });
      expect((await h.store.getMeta(runId))?.state).toBe('running');
      await withPage(async (page) => {
        await signIn(page, url, 'alice', h.tokens.alice);
        // Without the page's token (a form on another site), a writer's cookie is not enough.
        const cookie = (await page.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
        const noToken = await fetch(`${url}/stop`, {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'csrf=',
        });
        expect(noToken.status).toBe(403);
        expect((await h.store.getMeta(runId))?.state).toBe('running');
        await page.waitForSelector('#stop');
        await Promise.all([page.waitForNavigation(), page.click('#stop')]);
        await page.waitForFunction(() => document.getElementById('status')?.textContent === 'cancelled', {
          timeout: 20_000,
        });
        expect(await visibleText(page)).toContain('Stopped from the run page.');
      });
      expect((await h.store.getMeta(runId))?.outcome).toBe('cancelled');
    } finally {
      await worker.close(1_000);
      redis.disconnect();
    }
  });
});
