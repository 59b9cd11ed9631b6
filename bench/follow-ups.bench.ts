/**
 * Follow-up intake latency (issue 15): from a signed `check_suite.completed` (red) on a
 * head Pullwright pushed, to (1) the app's HTTP answer and (2) the `repair-ci` job being
 * in Redis, with the settle delay set to 0 (production waits `ciSettleMs`, 15 s, on
 * purpose). Everything is real: the GitHub twin, the app server (Probot, Octokit), Redis
 * and BullMQ. The first delivery pays the config read and the installation token; the
 * median over the rest is the steady state. The worker's side (repair pushed) is
 * bench/repair.bench.ts.
 */
import { randomUUID } from 'node:crypto';
import { localRedisUrl } from '../scripts/local-redis-url.js';
import { startAppServer, WEBHOOK_PATH } from '../src/app/app-server.js';
import { createSilentLogger } from '../src/logger.js';
import { createFollowUpMarks } from '../src/queue/follow-up-marks.js';
import { signBody, startGitHubTwin } from '../tests/twins/github/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const REDIS_URL = localRedisUrl();
const prefix = `pwbench-followups-${randomUUID().slice(0, 8)}`;

const twin = await startGitHubTwin();
const owner = `bench${randomUUID().slice(0, 6)}`;
twin.seed.user({ login: owner });
await twin.seed.repo({ owner, name: 'demo', files: { 'README.md': '# demo\n' } });
const installationId = twin.seed.installation({ account: owner }).id;
const app = await startAppServer({
  appId: twin.app.id,
  privateKey: twin.app.privateKey,
  webhookSecret: twin.app.webhookSecret,
  githubApiUrl: twin.url,
  redisUrl: REDIS_URL,
  queuePrefix: prefix,
  port: 0,
  host: '127.0.0.1',
  settings: {
    appSlug: twin.app.slug,
    botLogin: twin.app.botLogin,
    triggerPhrase: '@agent',
    reviewQuietMs: 60_000,
    ciSettleMs: 0,
    caps: { MAX_NETWORK: 'allowlist', ALLOW_WORKFLOW_EDITS: false },
  },
  log: createSilentLogger(),
});
const marks = createFollowUpMarks(app.redis, prefix);

const answered: number[] = [];
const queued: number[] = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const branch = `pullwright/bench-${i}`;
    const { sha } = await twin.seed.branch({
      repo: `${owner}/demo`,
      branch,
      files: { [`f${i}.txt`]: `${i}\n` },
    });
    const { number } = await twin.seed.pullRequest({
      repo: `${owner}/demo`,
      head: branch,
      title: `b${i}`,
      author: twin.app.botLogin,
    });
    await marks.recordPush(
      { installationId, repo: { owner, name: 'demo' }, number },
      {
        headSha: sha,
        headRef: branch,
        baseRef: 'main',
        origin: { requester: owner, kind: 'implement' },
        openedByPullwright: true,
        pushedBy: 'implement',
      },
    );
    const body = JSON.stringify({
      action: 'completed',
      installation: { id: installationId },
      repository: { id: 1, name: 'demo', owner: { login: owner } },
      sender: { login: 'github-actions[bot]', id: 41898282, type: 'Bot' },
      check_suite: {
        id: 1000 + i,
        head_sha: sha,
        head_branch: branch,
        status: 'completed',
        conclusion: 'failure',
        app: { id: 15368, slug: 'github-actions' },
        pull_requests: [],
      },
    });
    const t0 = performance.now();
    const res = await fetch(`${app.url}${WEBHOOK_PATH}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'check_suite',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': signBody(twin.app.webhookSecret, body),
      },
      body,
    });
    await res.text();
    answered.push(performance.now() - t0);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const jobs = await app.taskQueue.queue.getJobs(['waiting', 'delayed']);
      if (jobs.some((j) => j.data.number === number && j.name === 'repair-ci')) break;
      if (Date.now() > deadline) throw new Error(`no repair-ci job for #${number}`);
      await new Promise((r) => setTimeout(r, 1));
    }
    queued.push(performance.now() - t0);
  }
} finally {
  await app.taskQueue.queue.obliterate({ force: true });
  for (let cursor = '0'; ; ) {
    const [next, keys] = await app.redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    if (keys.length > 0) await app.redis.del(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
  await app.close();
  await twin.close();
}

const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? 0;
};
const steadyAnswered = answered.slice(1);
const steadyQueued = queued.slice(1);
process.stdout.write(
  [
    `follow-ups: red check_suite → repair-ci job (${RUNS} runs, ciSettleMs 0)`,
    `  first delivery (config + token): answered ${answered[0]?.toFixed(1)} ms, job seen in Redis ${queued[0]?.toFixed(1)} ms`,
    `  steady: answered p50 ${pct(steadyAnswered, 0.5).toFixed(1)} ms, p95 ${pct(steadyAnswered, 0.95).toFixed(1)} ms`,
    `  steady: job seen in Redis (1 ms polling) p50 ${pct(steadyQueued, 0.5).toFixed(1)} ms, p95 ${pct(steadyQueued, 0.95).toFixed(1)} ms`,
    '',
  ].join('\n'),
);
process.exit(0);
