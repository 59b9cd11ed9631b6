import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type AppServer, startAppServer, WEBHOOK_PATH } from '../../src/app/app-server.js';
import { PullwrightError } from '../../src/errors.js';
import { createSilentLogger } from '../../src/logger.js';
import type { Acknowledger } from '../../src/queue/acknowledgements.js';
import { deletePrefix, REDIS_URL, startTestAcknowledger, uniquePrefix } from '../queue/redis-helpers.js';
import { FakeGitHubPort } from './fake-github-port.js';
import { issueComment, issuesEvent, postDelivery, user } from './webhook-fixtures.js';

const SECRET = 'test-webhook-secret';
const OPERATOR = 'operator-token-0123456789';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('app server with a fake GitHub port (real HTTP, real Redis)', () => {
  let app: AppServer;
  let acknowledger: Acknowledger;
  let prefix: string;
  const github = new FakeGitHubPort();
  const t = { installationId: 11, owner: 'octo', repo: `r-${randomUUID().slice(0, 6)}` };
  const hook = () => `${app.url}${WEBHOOK_PATH}`;
  const post = (
    event: string,
    payload: Record<string, unknown> | string,
    opts: Partial<Parameters<typeof postDelivery>[3]> = {},
  ) => postDelivery(hook(), event, payload, { secret: SECRET, ...opts });
  const jobs = async () =>
    (await app.taskQueue.queue.getJobs(['waiting', 'delayed', 'active'])).map((j) => ({
      id: j.id,
      name: j.name,
    }));

  beforeAll(async () => {
    prefix = uniquePrefix('appsrv');
    github.permissions.set(`octo/${t.repo}:alice`, 'write');
    github.permissions.set(`octo/${t.repo}:reader`, 'read');
    app = await startAppServer({
      appId: 1,
      privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      webhookSecret: SECRET,
      githubApiUrl: 'http://127.0.0.1:9',
      redisUrl: REDIS_URL,
      queuePrefix: prefix,
      port: 0,
      host: '127.0.0.1',
      operatorToken: OPERATOR,
      settings: {
        appSlug: 'pullwright',
        botLogin: 'pullwright[bot]',
        triggerPhrase: '@agent',
        reviewQuietMs: 60_000,
        caps: { MAX_NETWORK: 'allowlist', ALLOW_WORKFLOW_EDITS: false },
      },
      log: createSilentLogger(),
      github,
    });
    // What a worker runs: the app only records the 👀 wish; this posts it through the port.
    acknowledger = await startTestAcknowledger(app.redis, prefix, (a) =>
      github.addReaction(a.installationId, a.repo, a.target),
    );
  });

  afterAll(async () => {
    await acknowledger.stop();
    await app.taskQueue.queue.obliterate({ force: true });
    await deletePrefix(app.redis, prefix);
    await app.close();
  });

  it('enqueues one implement job for an authorized mention, even when redelivered, and reacts', async () => {
    const payload = issueComment(t, 1, '@agent please add tests', user('alice'), { commentId: 501 });
    const deliveryId = randomUUID();
    expect((await post('issue_comment', payload, { deliveryId })).status).toBe(200);
    expect((await post('issue_comment', payload, { deliveryId })).status).toBe(200);
    const live = await jobs();
    expect(live).toEqual([
      { id: `implement~11/octo/${t.repo.toLowerCase()}#1~${deliveryId}`, name: 'implement' },
    ]);
    await expect
      .poll(() =>
        github.reactions.some((r) => r.target.kind === 'issue_comment' && r.target.commentId === 501),
      )
      .toBe(true);
    const job = await app.taskQueue.queue.getJob(live[0]?.id ?? '');
    expect(job?.data.trigger).toMatchObject({
      actor: 'alice',
      source: 'issue_comment',
      instruction: 'please add tests',
      commentId: 501,
    });
  });

  it('refuses bad signatures, missing headers and truncated JSON without enqueueing', async () => {
    const before = (await jobs()).length;
    const payload = issueComment(t, 2, '@agent go');
    expect((await post('issue_comment', payload, { signature: 'sha256=deadbeef' })).status).toBe(400);
    expect((await post('issue_comment', payload, { signature: null })).status).toBe(400);
    const truncated = JSON.stringify(payload).slice(0, 100);
    expect((await post('issue_comment', truncated)).status).toBeGreaterThanOrEqual(400);
    expect((await jobs()).length).toBe(before);
    const health = await fetch(`${app.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('labels rejected deliveries by event only for events the app handles, every app.yml event among them', async () => {
    const manifest = parseYaml(await readFile(join(import.meta.dirname, '../../app.yml'), 'utf8')) as {
      default_events: string[];
    };
    const unsigned = { signature: 'sha256=deadbeef' };
    for (const event of manifest.default_events) expect((await post(event, {}, unsigned)).status).toBe(400);
    expect((await post('made_up_event', {}, unsigned)).status).toBe(400);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    for (const event of manifest.default_events) {
      expect(metrics).toContain(
        `pullwright_webhook_deliveries_total{event="${event}",outcome="rejected_400"}`,
      );
    }
    expect(metrics).toContain('pullwright_webhook_deliveries_total{event="other",outcome="rejected_400"}');
    expect(metrics).not.toContain('made_up_event');
  });

  it('ignores read-only users, non-collaborators, bots, edits, huge comments and unknown events', async () => {
    const before = (await jobs()).length;
    const cases: [string, Record<string, unknown>][] = [
      ['issue_comment', issueComment(t, 3, '@agent go', user('reader'))],
      ['issue_comment', issueComment(t, 3, '@agent go', user('stranger'))],
      ['issue_comment', issueComment(t, 3, '@agent go', user('pullwright[bot]', 9, 'Bot'))],
      ['issue_comment', issueComment(t, 3, '@agent go', user('alice'), { action: 'edited' })],
      ['issue_comment', issueComment(t, 3, `@agent ${'x'.repeat(5 * 1024 * 1024)}`, user('alice'))],
      ['star', { action: 'created', starred_at: null }],
    ];
    for (const [event, payload] of cases) expect((await post(event, payload)).status).toBe(200);
    expect((await jobs()).length).toBe(before);
    expect(app.metrics.get('pullwright_authorization_refusals_total')).toBe(2);
  });

  it('double assignment yields one job; unassignment removes it', async () => {
    const bot = user('pullwright[bot]', 77, 'Bot');
    expect((await post('issues', issuesEvent(t, 'assigned', 4, bot))).status).toBe(200);
    expect((await post('issues', issuesEvent(t, 'assigned', 4, bot))).status).toBe(200);
    expect((await jobs()).filter((j) => j.id?.includes('#4~'))).toHaveLength(1);
    expect((await post('issues', issuesEvent(t, 'unassigned', 4, bot))).status).toBe(200);
    expect((await jobs()).filter((j) => j.id?.includes('#4~'))).toHaveLength(0);
  });

  it('uses the repo config trigger phrase instead of the operator one; @<slug> always works', async () => {
    const t2 = { ...t, repo: `${t.repo}-cfg` };
    github.permissions.set(`octo/${t2.repo}:alice`, 'admin');
    github.files.set(`octo/${t2.repo}:.github/pullwright.yml`, {
      text: 'trigger: "@helper"\n',
      sha: 'abc123',
    });
    const count = async (n: number) =>
      (await jobs()).filter((j) => j.id?.includes(`${t2.repo}#${n}~`)).length;
    expect((await post('issue_comment', issueComment(t2, 1, '@agent do it'))).status).toBe(200);
    expect(await count(1)).toBe(0);
    expect((await post('issue_comment', issueComment(t2, 2, '@helper do it'))).status).toBe(200);
    expect(await count(2)).toBe(1);
    expect((await post('issue_comment', issueComment(t2, 3, '@pullwright do it'))).status).toBe(200);
    expect(await count(3)).toBe(1);
  });

  /** A mention by a writer whose permission is not cached yet, while every lookup throws `error`. */
  const mentionWhileLookupFails = async (error: Error, number: number, login: string) => {
    github.permissionError = error;
    try {
      github.permissions.set(`octo/${t.repo}:${login}`, 'write');
      const res = await post('issue_comment', issueComment(t, number, '@agent go', user(login)));
      const queued = (await jobs()).filter((j) => j.id?.includes(`#${number}~`));
      return { status: res.status, queued: queued.length };
    } finally {
      github.permissionError = null;
    }
  };
  const metricsText = async () => (await fetch(`${app.url}/metrics`)).text();

  it('answers 5xx, parking nothing, when the permission lookup fails for a reason other than GitHub being away', async () => {
    const forbidden = new PullwrightError('forbidden', 'get collaborator permission: 403', {
      retryable: false,
    });
    const result = await mentionWhileLookupFails(forbidden, 77, 'carol');
    expect(result.status).toBeGreaterThanOrEqual(500);
    expect(result.queued).toBe(0);
    expect(await metricsText()).toMatch(/^pullwright_parked_deliveries 0$/m);
  });

  it('parks a delivery when GitHub is away, and shows it to operators', async () => {
    const away = new PullwrightError('upstream_unavailable', 'get collaborator permission: 503');
    expect(await mentionWhileLookupFails(away, 78, 'dora')).toEqual({ status: 200, queued: 0 });
    const metrics = await metricsText();
    expect(metrics).toMatch(/^pullwright_parked_deliveries 1$/m);
    expect(metrics).toMatch(
      /pullwright_webhook_deliveries_total\{event="issue_comment.created",outcome="parked"\} 1/,
    );
    const page = await fetch(`${app.url}/admin/queues`, { headers: { authorization: `Bearer ${OPERATOR}` } });
    const html = await page.text();
    expect(html).toContain('Parked deliveries (1)');
    expect(html).toContain('issue_comment.created');
  });

  // Issue 14 item 9: the delivery id header is not signed, so a captured delivery could be
  // sent again under fresh ids to start (or stop) runs again once the first run has finished.
  it('runs a captured signed delivery once, even replayed under fresh delivery ids', async () => {
    const payload = issueComment(t, 5, '@agent replay me', user('alice'), { commentId: 505 });
    expect((await post('issue_comment', payload, { deliveryId: 'orig-1' })).status).toBe(200);
    const queued = async () => (await jobs()).filter((j) => j.id?.includes('#5~'));
    const first = await queued();
    expect(first).toHaveLength(1);
    // The run is over (its job is gone); the same signed bytes come back under new ids.
    await (await app.taskQueue.queue.getJob(first[0]?.id ?? ''))?.remove();
    for (const deliveryId of ['replay-1', 'replay-2']) {
      expect((await post('issue_comment', payload, { deliveryId })).status).toBe(200);
    }
    expect(await queued()).toHaveLength(0);
    expect(await metricsText()).toMatch(
      /pullwright_webhook_deliveries_total\{event="issue_comment",outcome="duplicate"\} 2/,
    );
    // GitHub redelivering the original (same id) still reaches the handlers' own dedup.
    expect((await post('issue_comment', payload, { deliveryId: 'orig-1' })).status).toBe(200);
    expect(await queued()).toHaveLength(0);
  });

  it('serves metrics and an operator-only dashboard', async () => {
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain('pullwright_jobs_enqueued_total{kind="implement"}');
    expect(metrics).toMatch(
      /pullwright_webhook_deliveries_total\{event="issue_comment",outcome="rejected_400"\} \d/,
    );
    expect(metrics).toContain('pullwright_queue_depth{state="waiting"}');
    expect(metrics).toMatch(/^pullwright_acknowledgements_pending \d+$/m);
    expect((await fetch(`${app.url}/admin/queues`)).status).toBe(401);
    expect(
      (await fetch(`${app.url}/admin/queues`, { headers: { authorization: 'Bearer wrong-token-xxxxxxxx' } }))
        .status,
    ).toBe(401);
    const page = await fetch(`${app.url}/admin/queues`, { headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('implement~11/octo/');
  });
});

describe('app server without Redis', () => {
  it('starts, answers /healthz with 503 and refuses deliveries with a 5xx', async () => {
    const app = await startAppServer({
      appId: 1,
      privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      webhookSecret: SECRET,
      githubApiUrl: 'http://127.0.0.1:9',
      redisUrl: 'redis://127.0.0.1:1',
      queuePrefix: uniquePrefix('noredis'),
      port: 0,
      host: '127.0.0.1',
      settings: {
        appSlug: 'pullwright',
        botLogin: 'pullwright[bot]',
        triggerPhrase: '@agent',
        caps: { MAX_NETWORK: 'allowlist', ALLOW_WORKFLOW_EDITS: false },
      },
      log: createSilentLogger(),
      github: new FakeGitHubPort(),
    });
    try {
      expect((await fetch(`${app.url}/healthz`)).status).toBe(503);
      const res = await postDelivery(
        `${app.url}${WEBHOOK_PATH}`,
        'issue_comment',
        issueComment({ installationId: 1, owner: 'o', repo: 'r' }, 1, '@agent go'),
        { secret: SECRET },
      );
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect((await fetch(`${app.url}/metrics`)).status).toBe(200);
      // No OPERATOR_TOKEN: the dashboard does not exist.
      expect((await fetch(`${app.url}/admin/queues`)).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
