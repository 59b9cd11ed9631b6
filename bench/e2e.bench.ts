/**
 * End-to-end start-up benchmark: from the webhook being sent to the agent's first
 * model request, over repeated runs on a warm repository cache, with the parts:
 * queue (webhook handling, enqueue and pickup), token, config and tracking
 * comment, clone/fetch, sandbox start, context build, and the request itself.
 * Everything is real (GitHub twin, app, Redis, worker, Docker, git, model twin).
 * The parts come from the `Run timings` line the worker logs at the end of every
 * run (no benchmark hooks in the worker). Target: p50 under 2 s.
 */

import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startLocalStack } from '../scripts/local-stack.js';
import { createSilentLogger } from '../src/logger.js';
import { finish } from '../tests/twins/model/index.js';

interface RunTimings {
  jobId: string;
  startedAt: number;
  phases: Record<string, number>;
}

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const timings = new Map<string, RunTimings>();
// The worker's own log lines, read as a log shipper would: one JSON object per line.
const workerLog = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.includes('"Run timings"')) continue;
        const entry = JSON.parse(line) as RunTimings & { msg: string };
        timings.set(entry.jobId, entry);
      }
      done();
    },
  }),
);
const stack = await startLocalStack({ log: createSilentLogger(), workers: 0 });
stack.model?.setScenario({
  name: 'first-turn',
  description: 'bench: stop at once',
  respond: () => finish('Nothing to do.'),
});
await stack.startWorker({}, { log: workerLog });

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

const rows: Record<string, number>[] = [];
try {
  for (let i = 0; i <= RUNS; i++) {
    const { number, id: issueId } = stack.github.seed.issue({
      repo: stack.repo,
      title: `Bench ${i}`,
      body: 'noop',
      author: 'alice',
    });
    const requestsBefore = stack.model?.requests.length ?? 0;
    const sent = Date.now();
    // When the 👀 appears on the issue: posted by a worker's acknowledger, not by the app.
    let eyesAt = Number.NaN;
    const eyesPoll = setInterval(() => {
      const seen = stack.github.inspect
        .reactions(stack.repo)
        .some((r) => r.subject === 'issue' && r.subjectId === issueId && r.content === 'eyes');
      if (seen && Number.isNaN(eyesAt)) eyesAt = Date.now();
    }, 2);
    await stack.github.actions.assignIssue({
      repo: stack.repo,
      number,
      assignee: stack.github.app.botLogin,
      sender: 'alice',
    });
    const deadline = Date.now() + 120_000;
    while ((stack.model?.requests.length ?? 0) <= requestsBefore && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const first = stack.model?.requests[requestsBefore];
    const jobs = await stack.app.taskQueue.queue.getJobs(['active', 'completed', 'waiting']);
    const job = jobs.find((j) => j.data.number === number);
    // wait for the job to finish (and log its timings) before the next run
    while (job && !(await job.isCompleted()) && !(await job.isFailed()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    while (job?.id && !timings.has(job.id) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    clearInterval(eyesPoll);
    const t = job?.id ? timings.get(job.id) : undefined;
    if (!first || !t) throw new Error(`run ${i}: no first model request or no run timings`);
    const ms = (phase: string) => t.phases[phase] ?? 0;
    const contextBuilt =
      t.startedAt +
      ['token', 'prepare', 'gather', 'workspace', 'setup', 'sandbox', 'context'].reduce(
        (a, p) => a + ms(p),
        0,
      );
    const row = {
      total: first.at - sent,
      queue: t.startedAt - sent,
      token: ms('token'),
      configAndComment: ms('prepare') + ms('gather'),
      cloneFetch: ms('workspace'),
      sandboxStart: ms('setup') + ms('sandbox'),
      contextBuild: ms('context'),
      modelRequest: first.at - contextBuilt,
      eyesPosted: eyesAt - sent,
    };
    if (i > 0) rows.push(row); // run 0 warms the repository cache
  }
  const keys = Object.keys(rows[0] ?? {});
  process.stdout.write(`end-to-end start-up over ${rows.length} runs (warm cache), ms\n`);
  process.stdout.write(`${'part'.padEnd(18)}${'p50'.padStart(8)}${'p90'.padStart(8)}\n`);
  for (const k of keys) {
    const xs = rows.map((r) => r[k] as number);
    process.stdout.write(
      `${k.padEnd(18)}${percentile(xs, 50).toFixed(0).padStart(8)}${percentile(xs, 90).toFixed(0).padStart(8)}\n`,
    );
  }
  const p50 = percentile(
    rows.map((r) => r.total as number),
    50,
  );
  process.stdout.write(
    `\nwebhook → first model request p50: ${p50.toFixed(0)} ms (target < 2000 ms: ${p50 < 2000 ? 'met' : 'NOT met'})\n`,
  );
} finally {
  await stack.close();
}
process.exit(0);
