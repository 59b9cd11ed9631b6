import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type AppServer, startAppServer, WEBHOOK_PATH } from '../src/app/app-server.js';
import { type Config, parseConfig } from '../src/config/env.js';
import type { Logger } from '../src/logger.js';
import { redisTargetFromConfig } from '../src/queue/redis-connection.js';
import { runPagesSettingsFromConfig } from '../src/runs/run-pages-settings.js';
import { startGitHubTwin } from '../tests/twins/github/index.js';
import { twinOAuthClient } from '../tests/twins/github/routes-oauth.js';
import type { GitHubTwin } from '../tests/twins/github/types.js';
import { type ModelTwin, startModelTwin, writeFixFailingTestRepo } from '../tests/twins/model/index.js';
import { loadAgentHarness } from '../worker/agent/tools/create-run-tools.js';
import { startWorkerRuntime, type WorkerRuntime } from '../worker/create-worker-runtime.js';
import { createModelFromConfig } from '../worker/model/create-model.js';
import { createAgentRunner } from '../worker/session/agent-runner.js';
import { localRedisUrl } from './local-redis-url.js';

/**
 * Everything Pullwright needs, on this machine: the GitHub twin, the model twin
 * (or the real Anthropic API), the app and a worker, wired exactly as in
 * production (real HTTP, real Redis, real Docker, real git). The demo and the
 * end-to-end tests both run on it.
 */
export interface LocalStack {
  github: GitHubTwin;
  model: ModelTwin | null;
  app: AppServer;
  workers: WorkerRuntime[];
  config: Config;
  installationId: number;
  repo: string;
  startWorker(
    overrides?: Partial<Config>,
    options?: { reapIntervalMs?: number; log?: Logger },
  ): Promise<WorkerRuntime>;
  /** The environment a separate `worker/main.ts` process needs to join this stack. */
  workerEnv(overrides?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

export interface LocalStackOptions {
  /** Model twin scenario; ignored when `anthropicApiKey` is set. */
  scenario?: string;
  anthropicApiKey?: string;
  queuePrefix?: string;
  log: Logger;
  workers?: number;
  env?: Record<string, string>;
  lockDurationMs?: number;
  /**
   * Extra or replaced files of the sample repository (e.g. `.twin-ci.json`, a different
   * `.github/pullwright.yml`), committed in its first commit.
   */
  repoFiles?: Record<string, string>;
  /** Runs the twin's scripted CI on every push to the sample repository (`.twin-ci.json`). */
  ci?: boolean;
  /** The app installation's permissions (default: the twin's, without `actions: write`). */
  installationPermissions?: Record<string, 'read' | 'write'>;
  /** Intake timings (how long a red result settles before a repair; default 0 here: tests wait on CI themselves). */
  intake?: { ciSettleMs?: number; mergeabilityTimeoutMs?: number };
}

export const DEMO_ISSUE = {
  title: 'add() and average() return wrong results',
  body: [
    '`add(2, 3)` returns -1 and `average([1, 2, 3])` returns 3. `npm test` shows both failures.',
    '',
    'Please fix them and note the fix in the changelog.',
  ].join('\n'),
};

/** A free local port, so the app's public URL (run page links) is known before it starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function filesOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else out[relative(dir, path)] = await readFile(path, 'utf8');
    }
  };
  await walk(dir);
  return out;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { log } = options;
  const prefix = options.queuePrefix ?? `pw-local-${process.pid}-${Date.now().toString(36)}`;
  const workDir = await mkdtemp(join(tmpdir(), 'pullwright-stack-'));
  const github = await startGitHubTwin();
  const model = options.anthropicApiKey
    ? null
    : await startModelTwin({ scenario: options.scenario ?? 'implement-issue' });

  // A sample repository: a tiny Node library whose tests catch two bugs, and an issue about them.
  const sampleDir = join(workDir, 'sample');
  await writeFixFailingTestRepo(sampleDir);
  const files = await filesOf(sampleDir);
  files['.github/pullwright.yml'] = ['verify:', '  - npm test', 'pr:', '  labels: [pullwright]', ''].join(
    '\n',
  );
  Object.assign(files, options.repoFiles ?? {});
  github.seed.user({ login: 'alice' });
  await github.seed.repo({ owner: 'alice', name: 'mathlib', files });
  if (options.ci) github.ci.enable('alice/mathlib');
  const { id: installationId } = github.seed.installation({
    account: 'alice',
    repos: ['alice/mathlib'],
    ...(options.installationPermissions ? { permissions: options.installationPermissions } : {}),
  });

  // Run pages with sign-in on the twin (issue 16): the app's URL is the public URL of run links.
  const appPort = await freePort();
  const oauth = twinOAuthClient(github.url);
  const config = parseConfig('worker', {
    APP_ID: String(github.app.id),
    PRIVATE_KEY: github.app.privateKey,
    WEBHOOK_SECRET: github.app.webhookSecret,
    APP_SLUG: github.app.slug,
    GITHUB_API_URL: github.url,
    GITHUB_GIT_URL: github.url,
    REDIS_URL: localRedisUrl(),
    QUEUE_PREFIX: prefix,
    WORK_DIR: join(workDir, 'work'),
    SANDBOX_IMAGE: process.env.SANDBOX_IMAGE ?? 'pullwright-sandbox:latest',
    ANTHROPIC_API_KEY: options.anthropicApiKey ?? model?.apiKey,
    ANTHROPIC_BASE_URL: options.anthropicApiKey ? process.env.ANTHROPIC_BASE_URL : model?.url,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    MAX_NETWORK: 'none',
    PUBLIC_URL: `http://127.0.0.1:${appPort}`,
    GITHUB_WEB_URL: github.url,
    GITHUB_CLIENT_ID: oauth.clientId,
    GITHUB_CLIENT_SECRET: oauth.clientSecret,
    SESSION_SECRET: randomBytes(32).toString('hex'),
    ...options.env,
  });

  const app = await startAppServer({
    appId: github.app.id,
    privateKey: github.app.privateKey,
    webhookSecret: github.app.webhookSecret,
    githubApiUrl: github.url,
    redisTarget: redisTargetFromConfig(config),
    queuePrefix: prefix,
    port: appPort,
    host: '127.0.0.1',
    runPages: runPagesSettingsFromConfig(config),
    settings: {
      appSlug: config.APP_SLUG,
      botLogin: config.botLogin,
      triggerPhrase: config.TRIGGER_PHRASE,
      reviewQuietMs: 300,
      ciSettleMs: options.intake?.ciSettleMs ?? 0,
      mergeabilityTimeoutMs: options.intake?.mergeabilityTimeoutMs,
      caps: {
        MAX_NETWORK: config.MAX_NETWORK,
        ALLOW_WORKFLOW_EDITS: config.ALLOW_WORKFLOW_EDITS,
        MAX_CI_REPAIRS: config.MAX_CI_REPAIRS,
      },
    },
    log: log.child({ component: 'app' }),
  });
  github.setWebhookUrl(`${app.url}${WEBHOOK_PATH}`);

  const workers: WorkerRuntime[] = [];
  const startWorker = async (
    overrides: Partial<Config> = {},
    extra: { reapIntervalMs?: number; log?: Logger } = {},
  ) => {
    const workerConfig = { ...config, ...overrides };
    // A worker may log elsewhere than the stack (the e2e benchmark reads its `Run timings` lines).
    const workerLog = extra.log ?? log;
    const worker = await startWorkerRuntime({
      config: workerConfig,
      log: workerLog.child({ component: 'worker' }),
      agent: createAgentRunner({
        model: createModelFromConfig(workerConfig, workerLog.child({ component: 'agent' })),
        secrets: workerConfig.ANTHROPIC_API_KEY ? [workerConfig.ANTHROPIC_API_KEY] : [],
        harness: await loadAgentHarness(workerConfig),
      }),
      lockDurationMs: options.lockDurationMs,
      reapIntervalMs: extra.reapIntervalMs,
    });
    workers.push(worker);
    return worker;
  };
  for (let i = 0; i < (options.workers ?? 1); i++) await startWorker();

  return {
    github,
    model,
    app,
    workers,
    config,
    installationId,
    repo: 'alice/mathlib',
    startWorker,
    workerEnv(overrides = {}) {
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        APP_ID: String(github.app.id),
        PRIVATE_KEY: github.app.privateKey,
        APP_SLUG: config.APP_SLUG,
        GITHUB_API_URL: config.GITHUB_API_URL,
        GITHUB_GIT_URL: config.GITHUB_GIT_URL,
        REDIS_URL: config.REDIS_URL,
        // A separate worker process must reach the same Redis (Sentinel and passwords included).
        ...(config.REDIS_SENTINELS.length > 0
          ? {
              REDIS_SENTINELS: config.REDIS_SENTINELS.map((s) => `${s.host}:${s.port}`).join(','),
              REDIS_MASTER_NAME: config.REDIS_MASTER_NAME ?? '',
            }
          : {}),
        ...(config.REDIS_PASSWORD ? { REDIS_PASSWORD: config.REDIS_PASSWORD } : {}),
        ...(config.REDIS_SENTINEL_PASSWORD
          ? { REDIS_SENTINEL_PASSWORD: config.REDIS_SENTINEL_PASSWORD }
          : {}),
        QUEUE_PREFIX: config.QUEUE_PREFIX,
        WORK_DIR: config.WORK_DIR,
        SANDBOX_IMAGE: config.SANDBOX_IMAGE,
        MAX_NETWORK: config.MAX_NETWORK,
        LOG_LEVEL: 'info',
        ...overrides,
      };
      if (config.ANTHROPIC_API_KEY) env.ANTHROPIC_API_KEY = config.ANTHROPIC_API_KEY;
      if (config.ANTHROPIC_BASE_URL) env.ANTHROPIC_BASE_URL = config.ANTHROPIC_BASE_URL;
      return env;
    },
    async close() {
      for (const w of workers) await w.close(5_000).catch(() => {});
      await app.taskQueue.queue.obliterate({ force: true }).catch(() => {});
      await app.close();
      await model?.close();
      await github.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
