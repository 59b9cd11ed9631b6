import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { Probot, type ProbotOctokit } from 'probot';
import { createAppGitHubPort } from '../github/app-github-port.js';
import type { GitHubPort } from '../github/github-port.js';
import { ProbotContextOctokit } from '../github/probot-context-octokit.js';
import type { Logger } from '../logger.js';
import { Metrics, setModelCost } from '../metrics/metrics.js';
import { acknowledgementStream } from '../queue/acknowledgements.js';
import { claimSignedBody } from '../queue/delivery-dedup.js';
import { createMaintenanceCaps } from '../queue/maintenance-caps.js';
import { createParkedDeliveries } from '../queue/parked-deliveries.js';
import { createProducerConnection } from '../queue/producer-connection.js';
import { createRedis, type RedisTarget, targetOf } from '../queue/redis-connection.js';
import { createTaskQueue, type TaskQueue } from '../queue/task-queue.js';
import { createCostLedger } from '../runs/cost-ledger.js';
import { createRunPages } from '../runs/run-pages.js';
import { DEFAULT_RUN_PAGES_SETTINGS, type RunPagesSettings } from '../runs/run-pages-settings.js';
import { createRunStore } from '../runs/run-store.js';
import { countDelivery } from './delivery-outcome.js';
import { createIntakeApp, type IntakeSettings } from './intake-app.js';
import { DASHBOARD_PATH, serveDashboard } from './operator-dashboard.js';
import { createWebhookEndpoint } from './webhook-endpoint.js';

export const WEBHOOK_PATH = '/api/github/webhooks';
/** GitHub caps webhook payloads at 25 MB; anything larger is not from GitHub. */
const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;
/**
 * Body bytes all unanswered webhook requests may hold together (four of GitHub's largest):
 * without it, a few hundred unauthenticated connections at 25 MB each took the app down.
 */
const MAX_WEBHOOK_IN_FLIGHT_BYTES = 4 * MAX_WEBHOOK_BYTES;
/** GitHub gives a delivery 10 s; a slower one is answered 202 while its handler finishes. */
const WEBHOOK_TIMEOUT_MS = 9_000;

export interface AppServerOptions {
  appId: string | number;
  privateKey: string;
  webhookSecret: string;
  githubApiUrl: string;
  /** Redis: a URL, or Sentinel (`redisTargetFromConfig`); `redisTarget` wins over `redisUrl`. */
  redisTarget?: RedisTarget;
  redisUrl?: string;
  queuePrefix: string;
  port: number;
  host: string;
  operatorToken?: string;
  settings: Omit<IntakeSettings, 'reviewQuietMs'> & { reviewQuietMs?: number };
  log: Logger;
  /** Replaces the Octokit GitHub adapter (tests of failure modes). */
  github?: GitHubPort;
  /** First retry delay of a delivery parked while GitHub was away (tests use a short one). */
  parkedRetryDelayMs?: number;
  /** The run pages (`runPagesSettingsFromConfig`); without it they answer 404 (no sign-in configured). */
  runPages?: RunPagesSettings;
}

export interface AppServer {
  url: string;
  server: Server;
  metrics: Metrics;
  taskQueue: TaskQueue;
  redis: Redis;
  close(): Promise<void>;
}

/** Bounds a Redis call that could wait for a connection forever (BullMQ waits until ready). */
async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
    });
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function redisAnswers(redis: Redis, timeoutMs = 1_000): Promise<boolean> {
  try {
    return (await withTimeout(redis.ping(), timeoutMs)) === 'PONG';
  } catch {
    return false;
  }
}

export async function startAppServer(options: AppServerOptions): Promise<AppServer> {
  const { log } = options;
  // Fail fast while Redis is away: a webhook gets a 5xx at once and /healthz says 503.
  // One connection for the app's commands and both queues' adds (producer-connection.ts).
  const redisTarget = targetOf(options);
  const redis = createProducerConnection(redisTarget);
  redis.on('error', (err) => log.warn({ err: { message: err.message } }, 'Redis connection error'));
  // Start answering only once Redis is there (or after a bounded wait: /healthz then says 503).
  await new Promise<void>((resolve) => {
    if (redis.status === 'ready') return resolve();
    const timer = setTimeout(resolve, 5_000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const taskQueue = createTaskQueue({ prefix: options.queuePrefix, redis });
  const metrics = new Metrics();
  const runSettings = options.runPages ?? DEFAULT_RUN_PAGES_SETTINGS;
  const costLedger = createCostLedger(redis, options.queuePrefix);
  const runPages = createRunPages({
    redis,
    prefix: options.queuePrefix,
    store: createRunStore({
      redis,
      prefix: options.queuePrefix,
      maxRunBytes: runSettings.maxRunBytes,
      maxTotalBytes: runSettings.maxTotalBytes,
      retentionDays: runSettings.retentionDays,
    }),
    ledger: costLedger,
    auth: runSettings.auth,
    publicUrl: runSettings.publicUrl,
    monthlyBudgetUsd: runSettings.monthlyBudgetUsd,
    accessTtlSeconds: runSettings.accessTtlSeconds,
    // One connection per open live page: XREAD BLOCK holds it (bounded by the pages' viewer cap).
    newReader: () => createRedis(redisTarget, { maxRetriesPerRequest: null }, log),
    log: log.child({ component: 'run-pages' }),
  });
  const probot = new Probot({
    appId: options.appId,
    privateKey: options.privateKey,
    secret: options.webhookSecret,
    baseUrl: options.githubApiUrl,
    log: log.child({ component: 'probot' }),
    // Handlers never use context.octokit, so its type is narrower than Probot declares:
    // see probot-context-octokit.ts for why it is lean.
    Octokit: ProbotContextOctokit as unknown as typeof ProbotOctokit,
  });
  // Deliveries GitHub could not help with are replayed by this process later (parked-deliveries.ts).
  const parked = createParkedDeliveries({
    redisTarget,
    redis,
    prefix: options.queuePrefix,
    replay: (delivery, replayLog) => intake.replay(delivery, replayLog),
    log,
    backoffMs: options.parkedRetryDelayMs,
  });
  const intake = createIntakeApp({
    settings: { reviewQuietMs: 5_000, ...options.settings },
    redis,
    taskQueue,
    metrics,
    log,
    maintenanceCaps: createMaintenanceCaps(redis, options.queuePrefix),
    github:
      options.github ??
      createAppGitHubPort({
        appId: options.appId,
        privateKey: options.privateKey,
        baseUrl: options.githubApiUrl,
        log,
      }),
    park: (delivery) => parked.park(delivery),
  });
  await probot.load(intake.appFn, {
    cwd: process.cwd(),
    addHandler: () => {
      throw new Error('The intake app serves no routes of its own');
    },
  });
  await probot.ready();
  // The events the intake handles (and `ping`): the only `event` label values of rejections.
  const handledEvents: ReadonlySet<string> = new Set(intake.handledEvents());
  const knownEvents: ReadonlySet<string> = new Set(['ping', ...handledEvents]);
  const webhookEndpoint = createWebhookEndpoint({
    webhooks: probot.webhooks,
    maxBytes: MAX_WEBHOOK_BYTES,
    maxInFlightBytes: MAX_WEBHOOK_IN_FLIGHT_BYTES,
    timeoutMs: WEBHOOK_TIMEOUT_MS,
    // Only events a handler acts on leave a mark in Redis; the rest cannot start or stop anything.
    isReplay: async ({ id, name, signature }) => {
      if (!handledEvents.has(name)) return false;
      if (await claimSignedBody(redis, options.queuePrefix, signature, id)) return false;
      countDelivery(metrics, name, 'duplicate');
      return true;
    },
    log,
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/healthz') {
      const ok = await redisAnswers(redis);
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', redis: ok }));
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      try {
        const [depth, pendingAcks, parkedDeliveries, costs] = await withTimeout(
          Promise.all([
            taskQueue.depth(),
            redis.xlen(acknowledgementStream(options.queuePrefix)),
            parked.pending(),
            costLedger.allTimeCosts(),
          ]),
          1_000,
        );
        setModelCost(metrics, costs, runSettings.metricsRepoLabels);
        for (const [state, n] of Object.entries(depth)) metrics.set('pullwright_queue_depth', { state }, n);
        // Growing means no worker is posting 👀 (workers down or failing on GitHub).
        metrics.set('pullwright_acknowledgements_pending', {}, pendingAcks);
        // Non-zero means GitHub has been failing the app's lookups.
        metrics.set('pullwright_parked_deliveries', {}, parkedDeliveries);
      } catch {
        // Redis away: serve the counters we have; /healthz reports the outage.
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
      return;
    }
    if (path === DASHBOARD_PATH || path.startsWith(`${DASHBOARD_PATH}/`)) {
      await serveDashboard(req, res, taskQueue, options.operatorToken, parked.queue, costLedger);
      return;
    }
    if (path === WEBHOOK_PATH) {
      const status = await webhookEndpoint(req, res);
      if (status >= 400) {
        // The header is unauthenticated until the signature is checked: only known names
        // become label values, so junk requests cannot grow the metrics without bound.
        const header = String(req.headers['x-github-event'] ?? '');
        const event = knownEvents.has(header) ? header : 'other';
        countDelivery(metrics, event, `rejected_${status}`);
      }
      return;
    }
    if (await runPages.handle(req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'Request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
  log.info({ url, webhookPath: WEBHOOK_PATH }, 'Pullwright app listening');

  return {
    url,
    server,
    metrics,
    taskQueue,
    redis,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all([
        withTimeout(taskQueue.close(), 5_000).catch(() => {
          // Redis is gone: nothing left to flush.
          void taskQueue.queue.disconnect();
        }),
        withTimeout(parked.close(), 5_000).catch(() => {
          void parked.queue.disconnect();
        }),
      ]);
      redis.disconnect();
    },
  };
}
