/**
 * One of the intake benchmark's servers, in a process of its own (as each
 * would run in production): servers sharing a heap would pay for each other's
 * garbage collection, and a server's CPU per delivery is only its own when
 * nothing else runs in its process. Started by intake.bench.ts with
 * `SERVER_KIND` and the shared settings in the environment; answers `cpu`,
 * `stats` and `close` over IPC.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createNodeMiddleware, Probot } from 'probot';
import { startAppServer, WEBHOOK_PATH } from '../src/app/app-server.js';
import { createWebhookEndpoint } from '../src/app/webhook-endpoint.js';
import { createSilentLogger } from '../src/logger.js';
import { acknowledgementStream } from '../src/queue/acknowledgements.js';

export const SERVER_KINDS = [
  'bare',
  'probot-noop',
  'probot-add-only',
  'probot-noop-endpoint',
  'pullwright',
] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

export type ServerMessage =
  | { type: 'ready'; url: string }
  | { type: 'cpu'; micros: number }
  | { type: 'stats'; enqueued: number; acknowledgementRequests: number }
  | { type: 'closed' };

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const kind = env('SERVER_KIND') as ServerKind;
const REDIS_URL = env('REDIS_URL');
const PREFIX = `${env('BENCH_PREFIX')}-${kind}`;
const SECRET = env('BENCH_SECRET');
const PEM = env('BENCH_PEM');
const STUB_URL = env('BENCH_STUB_URL');

const listen = (server: Server) =>
  new Promise<string>((resolve) => {
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });

const stopListening = (server: Server) => {
  server.closeAllConnections();
  server.close();
};

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

interface Running {
  url: string;
  stats(): Promise<{ enqueued: number; acknowledgementRequests: number }>;
  close(): Promise<void>;
}

const noStats = async () => ({ enqueued: 0, acknowledgementRequests: 0 });

/** Verify the HMAC, JSON.parse, LPUSH to Redis: the practical limit. */
async function startBare(): Promise<Running> {
  const redis = new Redis(REDIS_URL);
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const given = Buffer.from(String(req.headers['x-hub-signature-256'] ?? ''));
    const want = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
    if (given.length !== want.length || !timingSafeEqual(given, want)) {
      res.writeHead(400).end();
      return;
    }
    const payload = JSON.parse(body.toString('utf8')) as { issue: { number: number } };
    await redis.lpush(
      `${PREFIX}:list`,
      JSON.stringify({ id: req.headers['x-github-delivery'], n: payload.issue.number }),
    );
    res.writeHead(200).end('ok\n');
  });
  const url = await listen(server);
  return {
    url,
    stats: noStats,
    async close() {
      stopListening(server);
      await redis.del(`${PREFIX}:list`);
      redis.disconnect();
    },
  };
}

/**
 * Probot with its defaults and a handler that is a no-op (the framework's own
 * cost), or that only adds a BullMQ job (the floor for any app that enqueues
 * on the request path, as the issue asks).
 */
async function startProbot(addJob: boolean): Promise<Running> {
  const queue = addJob ? new Queue('tasks', { prefix: PREFIX, connection: { url: REDIS_URL } }) : null;
  const probot = new Probot({
    appId: 1,
    privateKey: PEM,
    secret: SECRET,
    baseUrl: STUB_URL,
    log: createSilentLogger(),
  });
  const middleware = await createNodeMiddleware(
    (app) => {
      app.on('issue_comment.created', async (context) => {
        if (!queue) return;
        const { issue, repository } = context.payload;
        const target = `${repository.full_name}#${issue.number}`;
        await queue.add(
          'implement',
          { target, deliveryId: context.id },
          {
            jobId: `implement~${target.replace(/[^A-Za-z0-9#/-]/g, '')}~${context.id}`,
            deduplication: { id: target },
          },
        );
      });
    },
    { probot, webhooksPath: WEBHOOK_PATH },
  );
  const server = createServer((req, res) => {
    void middleware(req, res, () => res.writeHead(404).end());
  });
  const url = await listen(server);
  return {
    url,
    stats: async () => ({
      enqueued: queue ? await queue.getJobCountByTypes('waiting') : 0,
      acknowledgementRequests: 0,
    }),
    async close() {
      stopListening(server);
      if (queue) {
        await queue.obliterate({ force: true }).catch(() => {});
        await queue.close();
      }
    },
  };
}

/**
 * A no-op Probot app behind Pullwright's webhook endpoint instead of Probot's
 * Node middleware: the framework's cost with Pullwright's HTTP plumbing, so the
 * report can tell what the plumbing saves from what the app's handling costs.
 */
async function startProbotBehindEndpoint(): Promise<Running> {
  const log = createSilentLogger();
  const probot = new Probot({ appId: 1, privateKey: PEM, secret: SECRET, baseUrl: STUB_URL, log });
  await probot.load((app) => {
    app.on('issue_comment.created', async () => {});
  });
  await probot.ready();
  const endpoint = createWebhookEndpoint({
    webhooks: probot.webhooks,
    maxBytes: 25 * 1024 * 1024,
    timeoutMs: 9_000,
    log,
  });
  const server = createServer((req, res) => {
    if (req.url === WEBHOOK_PATH) void endpoint(req, res);
    else res.writeHead(404).end();
  });
  const url = await listen(server);
  return {
    url,
    stats: noStats,
    async close() {
      stopListening(server);
    },
  };
}

async function startPullwright(): Promise<Running> {
  const app = await startAppServer({
    appId: 1,
    privateKey: PEM,
    webhookSecret: SECRET,
    githubApiUrl: STUB_URL,
    redisUrl: REDIS_URL,
    queuePrefix: PREFIX,
    port: 0,
    host: '127.0.0.1',
    settings: {
      appSlug: 'pullwright',
      botLogin: 'pullwright[bot]',
      triggerPhrase: '@agent',
      caps: { MAX_NETWORK: 'allowlist', ALLOW_WORKFLOW_EDITS: false },
    },
    log: createSilentLogger(),
  });
  return {
    url: app.url,
    stats: async () => ({
      enqueued: await app.taskQueue.queue.getJobCountByTypes('waiting'),
      acknowledgementRequests: await app.redis.xlen(acknowledgementStream(PREFIX)),
    }),
    async close() {
      await app.taskQueue.queue.obliterate({ force: true }).catch(() => {});
      let cursor = '0';
      do {
        const [nextCursor, keys] = await app.redis.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000);
        cursor = nextCursor;
        if (keys.length > 0) await app.redis.del(...keys);
      } while (cursor !== '0');
      await app.close();
    },
  };
}

const running =
  kind === 'bare'
    ? await startBare()
    : kind === 'pullwright'
      ? await startPullwright()
      : kind === 'probot-noop-endpoint'
        ? await startProbotBehindEndpoint()
        : await startProbot(kind === 'probot-add-only');

const send = (m: ServerMessage) => process.send?.(m);
process.on('message', (m: { type: string }) => {
  if (m.type === 'cpu') {
    const cpu = process.cpuUsage();
    send({ type: 'cpu', micros: cpu.user + cpu.system });
  } else if (m.type === 'stats') {
    void running.stats().then((s) => send({ type: 'stats', ...s }));
  } else if (m.type === 'close') {
    void running.close().finally(() => {
      send({ type: 'closed' });
      process.exit(0);
    });
  }
});
send({ type: 'ready', url: running.url });
