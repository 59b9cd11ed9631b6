/**
 * Warm environments benchmark (issue 17), `npm run bench -- environment`. In one run:
 *  1. setup → agent ready through the real session on a repository whose setup
 *     (`npm ci`) installs 121 packages from a token-protected npm registry on
 *     loopback (through the allowlist egress proxy, the token a setup-only secret):
 *     cold (no snapshot: setup, capture, save, unpack) against warm (the snapshot
 *     unpacked), runs interleaved, p50 of each, both the way the worker runs a session
 *     and as a bare session (see SessionMode). Target: warm <= 0.1 x cold.
 *  2. webhook → first model request on the whole stack (GitHub twin, app, Redis,
 *     worker, Docker, model twin) for the same repository, cold (snapshot folder
 *     emptied before the run) against warm. Target: warm p50 <= 1.5 s. Also the
 *     worker's own setup → agent ready from its `Run timings` (setup + sandbox phases).
 *  3. tool-call round trip (`exec(['true'])` and `cat package.json`) through the
 *     exec server against Docker exec on the same kind of container. Target <= 10 ms p50.
 */
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createSilentLogger } from '../src/logger.js';
import {
  fixturePackages,
  type LocalRegistry,
  makeNodeProject,
  startLocalRegistry,
} from '../tests/fixtures/registry/local-npm-registry.js';
import {
  done,
  environmentService,
  makeNodeRepo,
  registryProvider,
  SANDBOX_IMAGE,
  sessionInput,
  workspaceFor,
  workspaceInEmptyDir,
} from '../tests/integration/environment-helpers.js';
import { makeTmp } from '../tests/workspace/fixtures.js';
import { createAgentSandboxPool } from '../worker/flows/agent-sandbox-pool.js';
import {
  type EarlyAgentSandbox,
  runAgentSession,
  type SessionWorkspace,
  startAgentSandbox,
} from '../worker/session/run-agent-session.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TOKEN = `npm_${'b3nchT0ken'.repeat(3)}`;
const SECRETS = `- repos: ["acme/*", "alice/*"]\n  env:\n    NPM_TOKEN: "${TOKEN}"\n`;
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const out = (line: string) => process.stdout.write(`${line}\n`);

/** The ways a session's agent container is started (SessionMode, below). */
const SESSION_MODES: readonly SessionMode[] = ['pool', 'early', 'bare'];

/** The run phases before the first model request, in the order they run (worker/flows, worker/session). */
const FIRST_REQUEST_PHASES = ['token', 'prepare', 'gather', 'workspace', 'setup', 'sandbox', 'context'];

const tmp = await makeTmp('pw-bench-env-');
const registry = await startLocalRegistry({ token: TOKEN, packages: fixturePackages(120) });
try {
  // BENCH_ENV_PARTS=session,tools,stack (default all) runs a subset, e.g. the tool round trip alone.
  const parts = (process.env.BENCH_ENV_PARTS ?? 'session,tools,stack').split(',');
  if (parts.includes('session')) await sessionBench(registry);
  if (parts.includes('tools')) await toolBench();
  if (parts.includes('stack') && process.env.BENCH_ENV_STACK !== '0') await stackBench(registry);
} finally {
  await registry.close();
  await tmp.cleanup();
}
process.exit(0);

/**
 * How a session's agent container is started in a measured run:
 *  - pool: as the worker runs it by default (SANDBOX_POOL_SIZE=1, worker/flows/run-mode-session.ts):
 *    the agent's container was started ahead of the run on an empty run folder
 *    (worker/flows/agent-sandbox-pool.ts, same code and defaults); the checkout is written
 *    into that folder, then the session runs with `earlySandbox`. Before each run the bench
 *    waits (unclocked) until the pool has its container again, as a worker whose runs are
 *    further apart than a container start; a miss falls back to `early` and is counted.
 *  - early: the worker with SANDBOX_POOL_SIZE=0: the empty run folder first, the agent's
 *    container started on it (`startAgentSandbox`) while the checkout is written.
 *  - bare: the session alone on a finished checkout (`pullwright run`): it starts the
 *    agent's container itself at once, so the whole `docker start` is inside the span.
 * In all three the clock starts where the worker's `setup` phase starts (the working copy
 * is ready) and stops when the agent loop may start (the runner is called): the worker's
 * `setup` + `sandbox` phases.
 */
type SessionMode = 'pool' | 'early' | 'bare';

async function sessionBench(reg: LocalRegistry): Promise<void> {
  const { provider } = registryProvider();
  const cache = await makeNodeRepo(tmp.dir, 'widgets', reg, TOKEN);
  const agentNetwork = { mode: 'none' as const };
  let folders = 0;
  const pool = createAgentSandboxPool({
    session: { sandboxes: provider, image: SANDBOX_IMAGE },
    newRunFolder: async () => {
      const workDir = join(tmp.dir, `pool-${++folders}`, 'work');
      await mkdir(workDir, { recursive: true });
      return { workDir, dispose: () => rm(dirname(workDir), { recursive: true, force: true }) };
    },
    size: 1,
  });
  let poolMisses = 0;
  const runOnce = async (snapshotDir: string, mode: SessionMode) => {
    let readyAt = 0;
    const agent = {
      run: async () => {
        readyAt = performance.now();
        return done();
      },
    };
    const deps = {
      sandboxes: provider,
      image: SANDBOX_IMAGE,
      agent,
      environment: environmentService({ dir: snapshotDir, secretsYaml: SECRETS }),
    };
    const labels = { 'dev.pullwright.job': 'environment-bench' };
    let early: EarlyAgentSandbox | undefined;
    let workspace: SessionWorkspace;
    if (mode === 'bare') {
      workspace = await workspaceFor(tmp.dir, cache);
    } else {
      const pooled = mode === 'pool' ? await pool.take({ network: agentNetwork }) : null;
      if (mode === 'pool' && !pooled) poolMisses++;
      early = pooled?.early;
      const repoConfig = { network: { agent: agentNetwork } };
      workspace = await workspaceInEmptyDir(
        tmp.dir,
        cache,
        (workDir) => {
          early = startAgentSandbox(deps, { workDir, repoConfig, labels });
        },
        pooled?.workDir,
      );
    }
    const input = sessionInput(workspace, reg, { labels });
    const started = performance.now();
    const result = await runAgentSession(deps, {
      ...input,
      repoConfig: { ...input.repoConfig, verifyCommands: [] },
      ...(early ? { earlySandbox: early } : {}),
    });
    if (result.setup && !result.setup.ok) throw new Error(`setup failed: ${result.setup.outputTail}`);
    return {
      ms: readyAt - started,
      source: result.environment?.source,
      restoreMs: (result.environment as { restoreMs?: number }).restoreMs,
    };
  };
  /** The pool refilled (unclocked), and nothing of it still starting during the next run. */
  const poolRefilled = async () => {
    const deadline = Date.now() + 60_000;
    while (pool.size() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  };
  const warmDir = join(tmp.dir, 'warm-snapshots');
  try {
    const prime = await runOnce(warmDir, 'early');
    if (prime.source !== 'setup') throw new Error('priming run did not set up');
    // A worker's pool fills a spec once a run asked for it; this miss makes the bench's pool ask.
    if ((await pool.take({ network: agentNetwork })) !== null) throw new Error('the pool started full');
    const runs = Object.fromEntries(
      SESSION_MODES.map((m) => [m, { cold: [] as number[], warm: [] as number[], restore: [] as number[] }]),
    ) as Record<SessionMode, { cold: number[]; warm: number[]; restore: number[] }>;
    let cold = 0;
    for (let i = 0; i < RUNS; i++) {
      // Interleaved, so a change in the machine's load hits every kind of run alike.
      for (const mode of SESSION_MODES) {
        await poolRefilled();
        const c = await runOnce(join(tmp.dir, `cold-${cold++}`), mode);
        if (c.source !== 'setup') throw new Error('a cold run restored');
        runs[mode].cold.push(c.ms);
        await poolRefilled();
        const w = await runOnce(warmDir, mode);
        if (w.source !== 'snapshot') throw new Error('a warm run did not restore');
        runs[mode].warm.push(w.ms);
        runs[mode].restore.push(w.restoreMs ?? Number.NaN);
      }
    }
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
    out(
      `setup → agent ready, session (npm ci of 121 packages through the egress proxy), ${RUNS} runs each, ms`,
    );
    out(
      "  clock: from the working copy being ready (the worker's setup phase starts) to the agent runner's call",
    );
    const label: Record<SessionMode, string> = {
      pool: `the worker's default (SANDBOX_POOL_SIZE=1): agent container taken from the pool (${2 * RUNS - poolMisses} of ${2 * RUNS} runs; a miss starts one during the checkout)`,
      early:
        'the worker with SANDBOX_POOL_SIZE=0: agent container started on the empty run folder during the checkout',
      bare: 'bare session, as `pullwright run` has it: the session starts the agent container itself (whole docker start inside)',
    };
    for (const mode of SESSION_MODES) {
      const r = runs[mode];
      out(`  ${label[mode]}:`);
      out(`    cold p50 ${p50(r.cold).toFixed(0)}  (runs: ${fmt(r.cold)})`);
      out(
        `    warm p50 ${p50(r.warm).toFixed(0)}  (runs: ${fmt(r.warm)}; unpack p50 ${p50(r.restore).toFixed(0)})`,
      );
      const ratio = p50(r.warm) / p50(r.cold);
      out(`    warm / cold = ${ratio.toFixed(3)} (target <= 0.1: ${ratio <= 0.1 ? 'met' : 'NOT met'})`);
    }
  } finally {
    await pool.close();
  }
}

async function toolBench(): Promise<void> {
  const { provider } = registryProvider();
  const { mkdtemp, chown, writeFile } = await import('node:fs/promises');
  const ws = await mkdtemp(join(tmp.dir, 'tools-'));
  await chown(ws, 1000, 1000);
  await writeFile(join(ws, 'package.json'), '{"name":"x"}\n');
  const withServer = await provider.create({ image: SANDBOX_IMAGE }, ws);
  const plain = await provider.create({ image: SANDBOX_IMAGE }, ws);
  try {
    if (!(await withServer.useExecServer())) throw new Error('the exec server did not start');
    const time = async (fn: () => Promise<unknown>, n = 40) => {
      for (let i = 0; i < 5; i++) await fn();
      const xs: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await fn();
        xs.push(performance.now() - t);
      }
      return p50(xs);
    };
    out('\ntool-call round trip p50 (sandbox.exec as a tool calls it), ms');
    for (const [name, cmd] of [
      ["exec(['true'])", ['true']],
      ['cat package.json', ['cat', 'package.json']],
      ["bash -c 'ls | wc -l'", 'ls | wc -l'],
    ] as const) {
      const server = await time(() => withServer.exec({ cmd: cmd as string[] | string }));
      const docker = await time(() => plain.exec({ cmd: cmd as string[] | string }));
      out(
        `  ${name.padEnd(22)} exec server ${server.toFixed(1).padStart(6)}   docker exec ${docker.toFixed(1).padStart(6)}   (${(docker / server).toFixed(1)}x; target <= 10 ms: ${server <= 10 ? 'met' : 'NOT met'})`,
      );
    }
  } finally {
    await withServer.dispose();
    await plain.dispose();
  }
}

function phaseLine(runs: Record<string, number>[]): string {
  return ['queue', ...FIRST_REQUEST_PHASES]
    .map((name) => `${name} ${p50(runs.map((r) => r[name] ?? 0)).toFixed(0)}`)
    .join(', ');
}

/** The whole stack: the worker reads its `Run timings` line; the model twin records the first request. */
async function stackBench(reg: LocalRegistry): Promise<void> {
  const { startLocalStack } = await import('../scripts/local-stack.js');
  const { finish } = await import('../tests/twins/model/index.js');
  const { readFile, readdir, writeFile } = await import('node:fs/promises');
  const projectDir = join(tmp.dir, 'stack-project');
  await makeNodeProject(projectDir, reg, TOKEN);
  const repoFiles: Record<string, string> = {};
  for (const f of await readdir(projectDir)) repoFiles[f] = await readFile(join(projectDir, f), 'utf8');
  repoFiles['.github/pullwright.yml'] = [
    'setup: npm ci --no-audit --no-fund',
    'network:',
    `  setup: { mode: allowlist, hosts: ["${reg.host}:${reg.port}"] }`,
    '  agent: { mode: none }',
    '',
  ].join('\n');
  const snapshotDir = join(tmp.dir, 'stack-snapshots');
  const secretsFile = join(tmp.dir, 'setup-secrets.yml');
  await writeFile(secretsFile, SECRETS, { mode: 0o600 });
  const timings = new Map<string, { startedAt: number; phases: Record<string, number> }>();
  const restored = new Set<string>();
  const poolHits = { count: 0 };
  const workerLog = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line.includes('"Run timings"')) {
            const e = JSON.parse(line);
            timings.set(e.jobId, e);
          }
          if (line.includes('Restoring the environment snapshot')) restored.add(JSON.parse(line).jobId);
          if (line.includes('Agent sandbox taken from the pool')) poolHits.count++;
        }
        cb();
      },
    }),
  );
  const stack = await startLocalStack({
    log: createSilentLogger(),
    workers: 0,
    repoFiles,
    env: {
      MAX_NETWORK: 'allowlist',
      EGRESS_ALLOW_PRIVATE_RANGES: `${reg.host}/32`,
      SNAPSHOT_DIR: snapshotDir,
      SETUP_SECRETS_FILE: secretsFile,
    },
  });
  stack.model?.setScenario({
    name: 'first-turn',
    description: 'bench: stop at once',
    respond: () => finish('Nothing to do.'),
  });
  await stack.startWorker({}, { log: workerLog });
  const runIssue = async (i: number) => {
    const { number } = stack.github.seed.issue({
      repo: stack.repo,
      title: `Bench ${i}`,
      body: 'noop',
      author: 'alice',
    });
    const before = stack.model?.requests.length ?? 0;
    const hitsBefore = poolHits.count;
    const sent = Date.now();
    await stack.github.actions.assignIssue({
      repo: stack.repo,
      number,
      assignee: stack.github.app.botLogin,
      sender: 'alice',
    });
    const deadline = Date.now() + 300_000;
    while ((stack.model?.requests.length ?? 0) <= before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    const first = stack.model?.requests[before];
    const jobs = await stack.app.taskQueue.queue.getJobs(['active', 'completed', 'waiting', 'failed']);
    const job = jobs.find((j) => j.data.number === number);
    while (job?.id && !timings.has(job.id) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    if (!first || !job?.id) throw new Error(`stack run ${i}: no first model request`);
    const t = timings.get(job.id);
    // Where the time went, from the worker's own `Run timings` line: the wait before the job
    // started (webhook, intake, queue) and each phase up to the first model request.
    const phases: Record<string, number> = { queue: (t?.startedAt ?? sent) - sent };
    for (const [name, ms] of Object.entries(t?.phases ?? {})) {
      if (FIRST_REQUEST_PHASES.includes(name)) phases[name] = ms;
    }
    return { ms: first.at - sent, warm: restored.has(job.id), phases, pooled: poolHits.count > hitsBefore };
  };
  try {
    await runIssue(-1); // the repository cache and the snapshot
    const cold: number[] = [];
    const warm: number[] = [];
    const coldPhases: Record<string, number>[] = [];
    const pooled = { cold: 0, warm: 0 };
    const warmPhases: Record<string, number>[] = [];
    let wired = true;
    for (let i = 0; i < RUNS; i++) {
      // Empty, not removed: the running worker's store keeps its (checked, private) folder.
      for (const entry of await readdir(snapshotDir).catch(() => [] as string[]))
        if (entry !== '.tmp') await rm(join(snapshotDir, entry), { recursive: true, force: true });
      const c = await runIssue(i * 2);
      cold.push(c.ms);
      coldPhases.push(c.phases);
      if (c.pooled) pooled.cold++;
      const w = await runIssue(i * 2 + 1);
      if (!w.warm) wired = false;
      warm.push(w.ms);
      warmPhases.push(w.phases);
      if (w.pooled) pooled.warm++;
    }
    out(`\nwebhook → first model request, whole stack, ${RUNS} runs each, ms`);
    out(`  cold p50 ${p50(cold).toFixed(0)}  (runs: ${cold.map((x) => x.toFixed(0)).join(', ')})`);
    out(`  warm p50 ${p50(warm).toFixed(0)}  (runs: ${warm.map((x) => x.toFixed(0)).join(', ')})`);
    out(
      `  agent container from the worker's pool (SANDBOX_POOL_SIZE, default 1): cold ${pooled.cold} of ${RUNS} runs, warm ${pooled.warm} of ${RUNS} (the others started theirs during the fetch)`,
    );
    out(`  phases p50 (ms), cold: ${phaseLine(coldPhases)}`);
    out(`  phases p50 (ms), warm: ${phaseLine(warmPhases)}`);
    // The worker's own setup → agent ready: its `setup` phase starts when the working copy is
    // ready (the end of `workspace`, which overlaps the agent container's start) and its
    // `sandbox` phase ends when the agent round starts (restore, exec server and disk baseline
    // done); `context` (the runner's repository reads) comes after and is not in it.
    const ready = (ps: Record<string, number>[]) => ps.map((p) => (p.setup ?? 0) + (p.sandbox ?? 0));
    const [coldReady, warmReady] = [ready(coldPhases), ready(warmPhases)];
    const readyRatio = p50(warmReady) / p50(coldReady);
    out('  setup → agent ready in the worker (its `setup` + `sandbox` phases from `Run timings`), ms:');
    out(
      `    cold p50 ${p50(coldReady).toFixed(0)}  (runs: ${coldReady.map((x) => x.toFixed(0)).join(', ')})`,
    );
    out(
      `    warm p50 ${p50(warmReady).toFixed(0)}  (runs: ${warmReady.map((x) => x.toFixed(0)).join(', ')})`,
    );
    out(
      `    warm / cold = ${readyRatio.toFixed(3)} (target <= 0.1: ${readyRatio <= 0.1 ? 'met' : 'NOT met'})`,
    );
    if (!wired)
      out(
        '  NOTE: the worker did not restore a snapshot (the runtime does not pass the environment service yet)',
      );
    else out(`  target warm <= 1500 ms: ${p50(warm) <= 1500 ? 'met' : 'NOT met'}`);
  } finally {
    await stack.close();
  }
}
