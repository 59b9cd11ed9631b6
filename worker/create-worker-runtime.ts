import { mkdir, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { createDashboardRefresher } from '../src/app/maintenance-dashboard.js';
import type { Config } from '../src/config/env.js';
import { createAppGitHubPort } from '../src/github/app-github-port.js';
import { createOctokitGitHubForWorker } from '../src/github/octokit-github-for-worker.js';
import type { Logger } from '../src/logger.js';
import { startAcknowledger } from '../src/queue/acknowledgements.js';
import { createFollowUpMarks } from '../src/queue/follow-up-marks.js';
import { createMaintenanceCaps } from '../src/queue/maintenance-caps.js';
import { createRedis, redisTargetFromConfig } from '../src/queue/redis-connection.js';
import { createSessionMemoryStore } from '../src/queue/session-memory-store.js';
import { startTaskWorker, type TaskWorker } from '../src/queue/task-worker.js';
import { createCostLedger } from '../src/runs/cost-ledger.js';
import { createRunStore } from '../src/runs/run-store.js';
import { startTranscriptRetention } from './agent/loop/transcript-retention.js';
import { loadAgentHarness } from './agent/tools/create-run-tools.js';
import { createEnvironmentService } from './environment/environment-service.js';
import { createAgentSandboxPool } from './flows/agent-sandbox-pool.js';
import { createGitWorkspaces } from './flows/git-workspaces.js';
import { loadFlowConfig } from './flows/load-flow-config.js';
import { type FlowDeps, runFlow } from './flows/run-flow.js';
import {
  DEPLOYMENT_LABEL,
  INSTANCE_LABEL,
  liveInstances,
  newInstanceId,
  startHeartbeat,
} from './instance-liveness.js';
import { DockerSandboxProvider } from './sandbox/docker-sandbox-provider.js';
import { reapSandboxes } from './sandbox/reap-sandboxes.js';
import { withBasePolicy } from './sandbox/with-base-policy.js';
import type { AgentRunner } from './session/agent-runner.js';
import { ensurePrivateDir, resolveRunsRoot } from './workspace/runs-location.js';

/**
 * The worker's composition root: binds every port to its adapter and starts
 * consuming jobs. Kept apart from `main.ts` so tests can start a worker in
 * process with their own config, queue prefix and agent runner.
 */
export interface WorkerRuntime {
  instanceId: string;
  close(graceMs?: number): Promise<void>;
  readonly running: number;
}

export interface WorkerRuntimeOptions {
  config: Config;
  log: Logger;
  agent: AgentRunner;
  /** Defaults to the machine's hostname: the provider's host label and the reaper's scope. */
  workerHostId?: string;
  lockDurationMs?: number;
  reapIntervalMs?: number;
}

export async function startWorkerRuntime(options: WorkerRuntimeOptions): Promise<WorkerRuntime> {
  const { config } = options;
  if (!config.APP_ID || !config.privateKey) throw new Error('The worker needs APP_ID and a private key');
  const instanceId = newInstanceId();
  const log = options.log.child({ instanceId });
  const workerHostId = options.workerHostId ?? hostname();
  const workRoot = resolve(config.WORK_DIR);
  // Per deployment, like the heartbeats that say which run folders are still in use.
  const runsBase = await resolveRunsRoot(config);
  await ensurePrivateDir(runsBase);
  const runsRoot = join(runsBase, config.QUEUE_PREFIX);
  const runsDir = join(runsRoot, instanceId);
  const transcriptsDir = join(workRoot, 'transcripts');
  await mkdir(runsDir, { recursive: true });

  // Transcripts hold private code and the model's reasoning: a 0700 folder of ours (refused
  // otherwise), pruned now and hourly; activeMs is the wall cap, so a live run's file stays.
  const transcriptRetention = await startTranscriptRetention({
    dir: transcriptsDir,
    retentionDays: config.TRANSCRIPT_RETENTION_DAYS,
    activeMs: config.MAX_WALL_MINUTES * 60_000,
    log,
  });

  const redisTarget = redisTargetFromConfig(config);
  const redis = createRedis(redisTarget, { maxRetriesPerRequest: 3 }, log);
  const subscriber = createRedis(redisTarget, { maxRetriesPerRequest: null }, log);
  const stopHeartbeat = startHeartbeat(redis, config.QUEUE_PREFIX, instanceId);
  const provider = new DockerSandboxProvider({
    workerHostId,
    log,
    egressRoot: config.EGRESS_DIR,
    egressAllowedRanges: config.EGRESS_ALLOW_PRIVATE_RANGES,
  });

  // Removes what crashed workers on this host left: containers and run folders of instances
  // whose heartbeat is gone. Live neighbours and other hosts are never touched.
  const reap = async () => {
    const live = await liveInstances(redis, config.QUEUE_PREFIX);
    live.add(instanceId);
    const result = await reapSandboxes({
      workerHostId,
      docker: provider.docker,
      egressRoot: config.EGRESS_DIR,
      isActive: (labels) =>
        labels[DEPLOYMENT_LABEL] !== config.QUEUE_PREFIX || live.has(labels[INSTANCE_LABEL] ?? ''),
      log,
    });
    const dirs = await readdir(runsRoot).catch(() => [] as string[]);
    const removedDirs: string[] = [];
    for (const dir of dirs) {
      if (live.has(dir)) continue;
      await rm(join(runsRoot, dir), { recursive: true, force: true });
      removedDirs.push(dir);
    }
    if (result.containers.length > 0 || removedDirs.length > 0) {
      log.info({ containers: result.containers.length, runDirs: removedDirs.length }, 'Reaped leftovers');
    }
  };
  await reap().catch((err) => log.warn({ err }, 'Reaper failed at start'));
  const reaper = setInterval(
    () => void reap().catch((err) => log.warn({ err }, 'Reaper failed')),
    options.reapIntervalMs ?? 60_000,
  );
  reaper.unref();

  const github = createOctokitGitHubForWorker({
    appId: config.APP_ID,
    privateKey: config.privateKey,
    baseUrl: config.GITHUB_API_URL,
    log,
  });
  const caps = createMaintenanceCaps(redis, config.QUEUE_PREFIX);
  const operatorCaps = {
    MAX_NETWORK: config.MAX_NETWORK,
    ALLOW_WORKFLOW_EDITS: config.ALLOW_WORKFLOW_EDITS,
    MAX_TURNS: config.MAX_TURNS,
    MAX_COST_USD: config.MAX_COST_USD,
    MAX_WALL_MINUTES: config.MAX_WALL_MINUTES,
    MAX_CI_REPAIRS: config.MAX_CI_REPAIRS,
    MAX_MONTHLY_COST_USD: config.MAX_MONTHLY_COST_USD,
    PROTECTED_PATHS: config.PROTECTED_PATHS,
    EGRESS_ALLOW_PRIVATE_RANGES: config.EGRESS_ALLOW_PRIVATE_RANGES,
  };
  const workspaces = createGitWorkspaces({
    cacheDir: join(workRoot, 'cache'),
    runsDir,
    gitBaseUrl: config.GITHUB_GIT_URL,
  });
  const deps: FlowDeps = {
    github,
    workspaces,
    session: {
      sandboxes: withBasePolicy(provider, {
        labels: { [INSTANCE_LABEL]: instanceId, [DEPLOYMENT_LABEL]: config.QUEUE_PREFIX },
      }),
      image: config.SANDBOX_IMAGE,
      agent: options.agent,
      // Snapshots of setup's result and setup-only secrets (issue 17); a bad secrets file stops the boot.
      environment: await createEnvironmentService(config, log),
      execServer: config.SANDBOX_EXEC_SERVER,
      // The operator's tool policy (TOOL_POLICY_FILE); a repository only narrows it.
      operatorPolicy: (await loadAgentHarness(config)).policy,
    },
    caps,
    delivery: { forkOwner: config.FORK_OWNER, forceFork: config.FORCE_FORK_DELIVERY },
    loadRepoConfig: (repoGitHub) => loadFlowConfig(repoGitHub, operatorCaps),
    bot: {
      login: config.botLogin,
      identity: { name: config.botLogin, email: `${config.APP_SLUG}[bot]@users.noreply.github.com` },
    },
    runDir: transcriptsDir,
    // What Pullwright pushed to each PR: the app's CI-repair and branch-update follow-ups read it.
    followUps: createFollowUpMarks(redis, config.QUEUE_PREFIX),
    memoryStore: createSessionMemoryStore(redis, config.QUEUE_PREFIX, {
      retentionDays: config.MEMORY_RETENTION_DAYS,
    }),
    runStore: createRunStore({
      redis,
      prefix: config.QUEUE_PREFIX,
      maxRunBytes: config.RUN_RECORD_MAX_BYTES,
      retentionDays: config.RUN_RETENTION_DAYS,
      maxTotalBytes: config.RUN_STORE_MAX_BYTES,
    }),
    costLedger: createCostLedger(redis, config.QUEUE_PREFIX),
    runPages: { publicUrl: config.PUBLIC_URL, maxMonthlyCostUsd: config.MAX_MONTHLY_COST_USD },
  };
  // Issue 17: agent containers started ahead of runs (SANDBOX_POOL_SIZE; 0 = off). Created through
  // the same provider and base labels as every run's sandbox, so the reaper removes them if this
  // instance dies.
  const agentPool = createAgentSandboxPool({
    session: deps.session,
    newRunFolder: () => workspaces.newRunFolder(),
    size: config.SANDBOX_POOL_SIZE,
    log,
  });
  deps.agentPool = agentPool;

  // The maintenance dashboard issue (issue 15 item 6) shows each task's last run: refreshed after each one.
  const dashboards = createDashboardRefresher({
    redis,
    prefix: config.QUEUE_PREFIX,
    botLogin: config.botLogin,
  });
  const worker: TaskWorker = await startTaskWorker({
    redisTarget,
    prefix: config.QUEUE_PREFIX,
    redis,
    subscriber,
    concurrency: config.WORKER_CONCURRENCY,
    limits: { perRepo: config.PER_REPO_CONCURRENCY, perInstallation: config.PER_INSTALLATION_CONCURRENCY },
    lockDurationMs: options.lockDurationMs ?? config.JOB_LOCK_MS,
    log,
    afterMaintenanceRun: async (task) => {
      const repoGitHub = await github.forRepo(task.installationId, task.repo);
      const repoConfig = await loadFlowConfig(repoGitHub, operatorCaps);
      await dashboards.refresh({
        issues: repoGitHub,
        installationId: task.installationId,
        repo: task.repo,
        config: { dashboard: repoConfig.dashboard, maintenance: repoConfig.maintenance },
      });
    },
    process: (task, ctx) =>
      runFlow({
        task,
        jobId: ctx.jobId,
        deps,
        signal: ctx.signal,
        log: ctx.log.child({
          repo: `${task.repo.owner}/${task.repo.name}`,
          installationId: task.installationId,
        }),
        finalAttempt: ctx.finalAttempt,
      }),
  });
  // The 👀 on each trigger, posted here rather than by the webhook app (see
  // src/queue/acknowledgements.ts). Its own lane: it never waits for a job slot.
  const reactions = createAppGitHubPort({
    appId: config.APP_ID,
    privateKey: config.privateKey,
    baseUrl: config.GITHUB_API_URL,
  });
  const acknowledger = await startAcknowledger({
    redis,
    blocking: createRedis(redisTarget, { maxRetriesPerRequest: null }, log),
    prefix: config.QUEUE_PREFIX,
    consumer: instanceId,
    react: (ack) => reactions.addReaction(ack.installationId, ack.repo, ack.target, 'eyes'),
    log: log.child({ component: 'acknowledger' }),
  });
  log.info({ instanceId, workerHostId, concurrency: config.WORKER_CONCURRENCY }, 'Worker started');

  return {
    instanceId,
    get running() {
      return worker.running;
    },
    async close(graceMs = config.SHUTDOWN_GRACE_MS) {
      clearInterval(reaper);
      await transcriptRetention.stop();
      await acknowledger.stop();
      await worker.close(graceMs);
      // Waiting pooled containers and their empty run folders go before the runs folder does.
      await agentPool.close();
      await stopHeartbeat();
      await rm(runsDir, { recursive: true, force: true });
      redis.disconnect();
    },
  };
}
