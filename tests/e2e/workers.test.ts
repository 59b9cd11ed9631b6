import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ISSUE, type LocalStack } from '../../scripts/local-stack.js';
import { DEPLOYMENT_LABEL } from '../../worker/instance-liveness.js';
import { resolveRunsRoot } from '../../worker/workspace/runs-location.js';
import { finish, reply, type Scenario, tool, toolExchanges } from '../twins/model/index.js';
import { removeContainers, sandboxContainers, stack, trackingComment, waitFor } from './e2e-helpers.js';

const ROOT = join(import.meta.dirname, '../..');

interface WorkerProcess {
  child: ChildProcess;
  lines: Record<string, unknown>[];
}

/** A real `worker/main.ts` process joined to the stack. */
function spawnWorker(s: LocalStack, env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: ROOT,
    env: s.workerEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  child.stderr?.resume();
  return { child, lines };
}

/** Sleeps a little in the sandbox, then makes an edit named after the task, then finishes. */
const slowEdit: Scenario = {
  name: 'slow-edit',
  description: 'test: a slow command, then one edit',
  respond(request) {
    const done = toolExchanges(request).length;
    if (done === 0) return reply(tool('bash', { command: 'sleep 6' }));
    if (done === 1) {
      const name = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
      return reply(
        tool('str_replace_based_edit_tool', {
          command: 'create',
          path: `notes/${name}.md`,
          file_text: 'noted\n',
        }),
      );
    }
    return finish('Wrote a note.');
  },
};

describe('more than one worker', { timeout: 420_000 }, () => {
  let s: LocalStack;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    s = await stack({ workers: 0 });
    s.model?.setScenario(slowEdit);
  });
  afterAll(async () => {
    const exited = children.map(
      (c) =>
        new Promise((resolve) =>
          c.exitCode !== null || c.signalCode !== null ? resolve(null) : c.once('exit', resolve),
        ),
    );
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(exited);
    await s?.close();
    // A SIGKILLed worker leaves its waiting pooled agent container (no close ran); the reaper
    // only removes it when another worker of the same deployment starts on this host, and this
    // stack's random deployment never starts again, so the test removes what it made.
    if (s) removeContainers(sandboxContainers(`${DEPLOYMENT_LABEL}=${s.config.QUEUE_PREFIX}`));
  });

  it('a job whose worker is SIGKILLed completes on another worker, with no orphan sandbox, duplicate PR or lost comment', async () => {
    const { github, repo } = s;
    const doomed = spawnWorker(s, { JOB_LOCK_MS: '4000' });
    children.push(doomed.child);
    await waitFor('the worker to start', () => doomed.lines.find((l) => l.msg === 'Worker started'), 60_000);
    const instance = String(doomed.lines.find((l) => l.msg === 'Worker started')?.instanceId);
    const { number } = github.seed.issue({
      repo,
      title: 'Note this',
      body: DEMO_ISSUE.body,
      author: 'alice',
    });
    await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    await waitFor(
      'its sandbox to run',
      () => sandboxContainers(`dev.pullwright.instance=${instance}`).length > 0,
      90_000,
    );
    doomed.child.kill('SIGKILL');

    await s.startWorker({ JOB_LOCK_MS: 4000 }, { reapIntervalMs: 2_000 });
    const done = await waitFor(
      'the job to complete elsewhere',
      () => {
        const c = trackingComment(s, number);
        return c?.body.includes('✅ Done') ? c : null;
      },
      180_000,
    );
    expect(github.inspect.pulls(repo).filter((p) => p.body.includes(`Fixes #${number}`))).toHaveLength(1);
    expect(
      github.inspect.comments(repo, number).filter((c) => c.body.includes('pullwright:tracking')),
    ).toHaveLength(1);
    expect(done.body).toContain('/pull/');
    await waitFor(
      'the dead worker’s sandbox to be reaped',
      () => sandboxContainers(`dev.pullwright.instance=${instance}`).length === 0,
      60_000,
    );
    // Its run folder (working copies, on tmpfs by default) goes too.
    const deadRuns = join(await resolveRunsRoot(s.config), s.config.QUEUE_PREFIX, instance);
    await waitFor('the dead worker’s run folder to be reaped', () => !existsSync(deadRuns), 60_000);
    await s.workers.pop()?.close(5_000);
  });

  it('on SIGTERM a worker stops within its grace period, removes its sandbox and leaves the job for a retry', async () => {
    const { github, repo } = s;
    s.model?.setScenario({
      name: 'long-sleep',
      description: 'test: a command longer than the grace period',
      respond: (request) =>
        toolExchanges(request).length === 0
          ? reply(tool('bash', { command: 'sleep 120', timeout_ms: 300_000 }))
          : finish('slept'),
    });
    const worker = spawnWorker(s, { SHUTDOWN_GRACE_MS: '2000' });
    children.push(worker.child);
    await waitFor('the worker to start', () => worker.lines.find((l) => l.msg === 'Worker started'), 60_000);
    const instance = String(worker.lines.find((l) => l.msg === 'Worker started')?.instanceId);
    const { number } = github.seed.issue({ repo, title: 'Sleep on it', body: 'zzz', author: 'alice' });
    await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    await waitFor(
      'its sandbox to run',
      () => sandboxContainers(`dev.pullwright.instance=${instance}`).length > 0,
      90_000,
    );
    const exited = new Promise<number | null>((resolve) =>
      worker.child.once('exit', (code) => resolve(code)),
    );
    worker.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(sandboxContainers(`dev.pullwright.instance=${instance}`)).toEqual([]);
    const job = (await s.app.taskQueue.queue.getJobs(['delayed', 'waiting'])).find(
      (j) => j.data.number === number,
    );
    expect(job?.attemptsMade).toBe(1);
    expect(trackingComment(s, number)?.body).toContain('picked up again');
    await job?.remove();
    s.model?.setScenario(slowEdit);
  });

  it('two worker processes share the jobs while the per-repo limit holds', async () => {
    const { github } = s;
    // One job at a time each: with two slots apiece one process could take every job
    // (a run per repository) and leave the other idle, which is allowed but not what this checks.
    const workers = [
      spawnWorker(s, { WORKER_CONCURRENCY: '1' }),
      spawnWorker(s, { WORKER_CONCURRENCY: '1' }),
    ];
    children.push(...workers.map((w) => w.child));
    for (const w of workers)
      await waitFor('a worker to start', () => w.lines.find((l) => l.msg === 'Worker started'), 60_000);
    // A second repository, so the two workers have work they may do at the same time.
    github.seed.user({ login: 'bob' });
    await github.seed.repo({ owner: 'bob', name: 'second', files: { 'README.md': '# second\n' } });
    github.seed.installation({ account: 'bob', repos: ['bob/second'] });
    github.seed.collaborator('bob/second', 'alice', 'write');
    const issues: { repo: string; number: number }[] = [];
    for (const repo of [s.repo, s.repo, 'bob/second', 'bob/second']) {
      const { number } = github.seed.issue({
        repo,
        title: `Parallel ${issues.length}`,
        body: 'note it',
        author: 'alice',
      });
      issues.push({ repo, number });
    }
    for (const i of issues)
      await github.actions.assignIssue({ ...i, assignee: github.app.botLogin, sender: 'alice' });
    await waitFor(
      'every issue to get its PR',
      () =>
        issues.every((i) => github.inspect.pulls(i.repo).some((p) => p.body.includes(`Fixes #${i.number}`))),
      240_000,
    );
    const jobs = (await s.app.taskQueue.queue.getJobs(['completed'])).filter((j) => j.name === 'implement');
    const completedBy = new Set(
      workers
        .map((w, index) => (w.lines.some((l) => l.msg === 'Job completed') ? index : -1))
        .filter((i) => i >= 0),
    );
    expect(completedBy.size).toBe(2);
    // Per-repo concurrency 1: runs on the same repository never overlap, across both processes.
    for (const repo of [s.repo, 'bob/second']) {
      const runs = jobs
        .filter((j) => `${j.data.repo.owner}/${j.data.repo.name}` === repo && j.processedOn && j.finishedOn)
        .map((j) => [j.processedOn as number, j.finishedOn as number] as const)
        .sort((a, b) => a[0] - b[0]);
      for (let k = 1; k < runs.length; k++) expect(runs[k]![0]).toBeGreaterThanOrEqual(runs[k - 1]![1] - 50);
    }
  });
});
