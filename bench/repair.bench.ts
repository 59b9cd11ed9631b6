/**
 * CI repair latency (issue 15): from the red CI webhook on a head Pullwright pushed to
 * the repair commit pushed on the twin, p50 over BENCH_RUNS (default 5) runs after one
 * warm-up. Everything is real: the twin's scripted CI runs `node --test` on each push,
 * the app reads the red `check_suite`/`workflow_run`, the worker gathers the failures
 * and logs, and the model twin's agent (`follow-through`) reproduces and fixes the bug
 * in a Docker sandbox, runs verify in a fresh container and pushes. The intake's CI
 * settle delay is 0 here (production waits `ciSettleMs`, 15 s by default, so the other
 * suites of a push finish first); the parts come from the worker's `Run timings` line.
 * When CI fails before the worker has recorded the head (it pushes, opens the PR, then records),
 * the worker's own check at record time queues the repair, which can start before the red
 * webhook is even delivered: the clock then starts when the check failed (its completion).
 */

import { appendFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startLocalStack } from '../scripts/local-stack.js';
import { createSilentLogger } from '../src/logger.js';

interface RunTimings {
  jobId: string;
  startedAt: number;
  phases: Record<string, number>;
}

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const timings: RunTimings[] = [];
const workerLog = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      // BENCH_LOG=<file> keeps the worker's whole log, to see why a run did not push.
      if (process.env.BENCH_LOG) appendFileSync(process.env.BENCH_LOG, chunk);
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.includes('"Run timings"')) timings.push(JSON.parse(line) as RunTimings);
      }
      done();
    },
  }),
);

const stack = await startLocalStack({
  log: createSilentLogger(),
  workers: 0,
  scenario: 'follow-through',
  ci: true,
  repoFiles: {
    '.twin-ci.json': JSON.stringify({ name: 'test', command: 'node --test' }),
    '.github/pullwright.yml': 'verify:\n  - npm test\nci:\n  maxRepairs: 2\n',
  },
});
await stack.startWorker({}, { log: workerLog });
const { github, repo } = stack;

async function waitFor<T>(what: string, fn: () => T | null | undefined, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

const rows: Record<string, number>[] = [];
let reconciled = 0;
try {
  for (let i = 0; i <= RUNS; i++) {
    const { number } = github.seed.issue({
      repo,
      title: `Bench ${i} [changelog-only]`,
      body: 'b',
      author: 'alice',
    });
    await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    const pull = await waitFor('the PR', () =>
      github.inspect.pulls(repo).find((p) => p.body.includes(`Fixes #${number}`)),
    );
    const red = pull.headSha;
    const pushed = await waitFor('the repair push', () =>
      github.inspect.pushes(repo).find((p) => p.before === red && p.pusher.kind === 'installation'),
    );
    // The first webhook that told the app this head's CI failed, or, when the failure came before
    // the worker had recorded the head (then the worker's own check at record time queues the
    // repair, possibly before the webhook is even delivered), the moment the check failed.
    const webhookAt = Math.min(
      ...github.deliveries
        .filter((d) => (d.event === 'check_suite' || d.event === 'workflow_run') && d.action === 'completed')
        .filter((d) => d.body.includes(red) && d.body.includes('"conclusion":"failure"'))
        .map((d) => Date.parse(d.at)),
    );
    const failedAt = Math.min(
      ...github.ci
        .checkRuns(repo, red)
        .filter((c) => c.conclusion === 'failure' && c.completedAt !== null)
        .map((c) => Date.parse(c.completedAt as string)),
    );
    const redAt = Math.min(webhookAt, failedAt);
    const pushedAt = Date.parse(pushed.at);
    // The repair job's own phases (the last run whose timings were logged before its push).
    await waitFor('the repair run timings', () => timings.find((t) => t.startedAt >= redAt));
    const t = timings.filter((x) => x.startedAt >= redAt)[0]!;
    const ms = (p: string) => t.phases[p] ?? 0;
    // Which side queued the repair: the red webhook, or the worker's check when it recorded the head.
    if (i > 0 && (t.startedAt < webhookAt || Date.parse(pull.createdAt) > webhookAt)) reconciled += 1;
    const row = {
      total: pushedAt - redAt,
      queue: t.startedAt - redAt,
      gatherCi: ms('token') + ms('prepare') + ms('gather'),
      workspace: ms('workspace'),
      sandbox: ms('setup') + ms('sandbox'),
      agent: ms('context') + ms('agent'),
      verify: ms('verify') + ms('extract'),
      deliver: ms('deliver'),
    };
    if (i > 0) rows.push(row); // run 0 warms the caches
    await github.ci.idle();
    process.stdout.write(`run ${i}: ${row.total} ms${i === 0 ? ' (warm-up)' : ''}\n`);
  }
  process.stdout.write(`\nred CI webhook → repair commit pushed, ${rows.length} runs, ms\n`);
  process.stdout.write(
    `(at least ${reconciled} of them failed before the PR was recorded: queued by the worker's record-time check)\n`,
  );
  process.stdout.write(`${'part'.padEnd(12)}${'p50'.padStart(8)}${'p90'.padStart(8)}\n`);
  for (const k of Object.keys(rows[0] ?? {})) {
    const xs = rows.map((r) => r[k] as number);
    process.stdout.write(
      `${k.padEnd(12)}${percentile(xs, 50).toFixed(0).padStart(8)}${percentile(xs, 90).toFixed(0).padStart(8)}\n`,
    );
  }
} finally {
  await stack.close();
}
process.exit(0);
