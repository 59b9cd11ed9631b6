/**
 * Intake throughput: signed `issue_comment` deliveries at 32 concurrent
 * keep-alive connections against three servers, measured in the same run:
 *   1. bare node:http: verify HMAC, JSON.parse, LPUSH to Redis (the practical limit);
 *   2. Probot with a no-op handler (the framework's own cost);
 *   3. Pullwright's app (match, authorize from the cache, dedup, enqueue, 👀 request on the
 *      acks stream; the workers post the reaction itself, so it is not measured here).
 * Each trigger is an authorized `@agent` mention on a distinct issue, so every
 * delivery really enqueues a job. GitHub is a small local stub (installation
 * token, permission, contents 404) so no request leaves loopback.
 */
import { spawn } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomUUID, timingSafeEqual } from 'node:crypto';
import { Agent, createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { createNodeMiddleware, Probot } from 'probot';
import { startAppServer, WEBHOOK_PATH } from '../src/app/app-server.js';
import { createSilentLogger } from '../src/logger.js';
import { acknowledgementStream } from '../src/queue/acknowledgements.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CONCURRENCY = 32;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 6_000);
const WARMUP = 500;
const MAX_SECONDS = 60;
const SECRET = 'bench-webhook-secret';
const PREFIX = `pwbench-${randomUUID().slice(0, 8)}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

const listen = (server: Server) =>
  new Promise<string>((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

/**
 * Just enough of GitHub's REST API for the app's calls, in a child process:
 * GitHub's work is not the app's, so it must not share the measured event loop.
 */
const STUB_SOURCE = `
const http = require('node:http');
const calls = {};
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const url = req.url || '';
    const json = (status, body) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    let kind = 'other';
    if (/^\\/app\\/installations\\/\\d+\\/access_tokens/.test(url)) { kind = 'token'; json(201, { token: 'ghs_benchbenchbenchbenchbench', expires_at: new Date(Date.now() + 3600000).toISOString() }); }
    else if (/\\/collaborators\\/[^/]+\\/permission/.test(url)) { kind = 'permission'; json(200, { permission: 'write', role_name: 'write', user: { login: 'alice' } }); }
    else if (url.includes('/contents/')) { kind = 'contents'; json(404, { message: 'Not Found' }); }
    else if (url.includes('/reactions')) { kind = 'reaction'; json(201, { id: 1, content: 'eyes' }); }
    else if (url === '/_calls') { json(200, calls); return; }
    else json(404, { message: 'Not Found' });
    calls[kind] = (calls[kind] || 0) + 1;
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

async function startGitHubStub(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['-e', STUB_SOURCE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once('exit', (code) => reject(new Error(`GitHub stub exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

interface Delivery {
  body: string;
  signature: string;
  id: string;
}

function makeDeliveries(count: number, repo: string, offset: number): Delivery[] {
  const out: Delivery[] = [];
  for (let i = 0; i < count; i++) {
    const number = offset + i + 1;
    const payload = {
      action: 'created',
      issue: {
        number,
        title: `Issue ${number}`,
        state: 'open',
        user: { login: 'alice', id: 100, type: 'User' },
      },
      comment: {
        id: 1_000_000 + number,
        body: `@agent please fix issue ${number}`,
        user: { login: 'alice', id: 100, type: 'User' },
      },
      repository: {
        id: 4242,
        name: repo,
        full_name: `octo/${repo}`,
        owner: { login: 'octo' },
        default_branch: 'main',
      },
      sender: { login: 'alice', id: 100, type: 'User' },
      installation: { id: 7 },
    };
    const body = JSON.stringify(payload);
    out.push({
      body,
      signature: `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      id: randomUUID(),
    });
  }
  return out;
}

interface RunResult {
  /** Process CPU (user + system) per delivery, in ms: server and load generator together. */
  cpuMs: number;
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  failed: number;
}

async function load(url: string, deliveries: Delivery[]): Promise<RunResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const target = new URL(url);
  const latencies: number[] = [];
  let next = 0;
  let ok = 0;
  let failed = 0;
  const deadline = Date.now() + MAX_SECONDS * 1000;
  const send = (d: Delivery) =>
    new Promise<number>((resolve) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: WEBHOOK_PATH,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(d.body),
            'x-github-event': 'issue_comment',
            'x-github-delivery': d.id,
            'x-hub-signature-256': d.signature,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(0));
      req.end(d.body);
    });
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < deliveries.length && Date.now() < deadline) {
        const d = deliveries[next++] as Delivery;
        const t0 = process.hrtime.bigint();
        const status = await send(d);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (status === 200) ok++;
        else failed++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return {
    cpuMs: (cpu.user + cpu.system) / 1000 / Math.max(1, ok + failed),
    rps: (ok + failed) / seconds,
    p50: pct(50),
    p99: pct(99),
    ok,
    failed,
  };
}

const ROUNDS = 3;
const slug = (name: string) => name.replace(/[^a-z0-9]+/g, '-');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/**
 * The machine is shared and noisy, so the servers take turns: ROUNDS rounds,
 * each server measured once per round, and the median round is reported.
 */
async function measureAll(servers: { name: string; url: string }[]): Promise<Map<string, RunResult>> {
  const perRound = Math.ceil(REQUESTS / ROUNDS);
  const results = new Map<string, RunResult[]>();
  for (const s of servers) {
    await load(s.url, makeDeliveries(WARMUP, slug(s.name), 0));
    results.set(s.name, []);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of servers) {
      results
        .get(s.name)
        ?.push(await load(s.url, makeDeliveries(perRound, slug(s.name), WARMUP + round * perRound)));
    }
  }
  const out = new Map<string, RunResult>();
  for (const [name, runs] of results) {
    const result = {
      cpuMs: median(runs.map((r) => r.cpuMs)),
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      ok: runs.reduce((n, r) => n + r.ok, 0),
      failed: runs.reduce((n, r) => n + r.failed, 0),
    };
    out.set(name, result);
    process.stdout.write(
      `${name.padEnd(22)} ${result.rps.toFixed(0).padStart(6)} deliveries/s   p50 ${result.p50.toFixed(2)} ms   p99 ${result.p99.toFixed(2)} ms   cpu ${result.cpuMs.toFixed(3)} ms/delivery   (ok ${result.ok}, failed ${result.failed}; rounds: ${runs.map((r) => r.rps.toFixed(0)).join(', ')})\n`,
    );
  }
  return out;
}

async function main() {
  const redis = new Redis(REDIS_URL);
  const stub = await startGitHubStub();
  process.stdout.write(
    `${REQUESTS} signed deliveries per server in ${ROUNDS} interleaved rounds after ${WARMUP} warm-up, ${CONCURRENCY} connections\n`,
  );

  // 1. Bare node:http: the practical limit.
  const listKey = `${PREFIX}:bare`;
  const bare = createServer(async (req, res) => {
    const body = await readBody(req);
    const given = Buffer.from(String(req.headers['x-hub-signature-256'] ?? ''));
    const want = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
    if (given.length !== want.length || !timingSafeEqual(given, want)) {
      res.writeHead(400).end();
      return;
    }
    const payload = JSON.parse(body.toString('utf8')) as { issue: { number: number } };
    await redis.lpush(
      listKey,
      JSON.stringify({ id: req.headers['x-github-delivery'], n: payload.issue.number }),
    );
    res.writeHead(200).end('ok\n');
  });
  bare.keepAliveTimeout = 60_000;
  const bareUrl = await listen(bare);

  // 2. Probot with a no-op handler.
  const probot = new Probot({
    appId: 1,
    privateKey: PEM,
    secret: SECRET,
    baseUrl: stub.url,
    log: createSilentLogger(),
  });
  const noop = await createNodeMiddleware(
    (app) => {
      app.on('issue_comment.created', async () => {});
    },
    { probot, webhooksPath: WEBHOOK_PATH },
  );
  const probotServer = createServer((req, res) => {
    void noop(req, res, () => res.writeHead(404).end());
  });
  probotServer.keepAliveTimeout = 60_000;
  const probotUrl = await listen(probotServer);

  // 3. Pullwright.
  const app = await startAppServer({
    appId: 1,
    privateKey: PEM,
    webhookSecret: SECRET,
    githubApiUrl: stub.url,
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

  try {
    // BENCH_ONLY=pullwright measures just one server (for profiling with --cpu-prof).
    const only = process.env.BENCH_ONLY;
    const servers = [
      { name: 'bare node:http', url: bareUrl },
      { name: 'probot no-op', url: probotUrl },
      { name: 'pullwright', url: app.url },
    ].filter((s) => !only || s.name.startsWith(only));
    const results = await measureAll(servers);
    const skip = { cpuMs: Number.NaN, rps: Number.NaN, p50: Number.NaN, p99: Number.NaN, ok: 0, failed: 0 };
    const b = results.get('bare node:http') ?? skip;
    const p = results.get('probot no-op') ?? skip;
    const w = results.get('pullwright') ?? skip;
    const enqueued = await app.taskQueue.queue.getJobCountByTypes('waiting');
    const ackRequests = await redis.xlen(acknowledgementStream(PREFIX));
    process.stdout.write(
      `\nprobot/bare      ${(p.rps / b.rps).toFixed(2)}x\npullwright/probot ${(w.rps / p.rps).toFixed(2)}x   (target >= 0.75x)\n` +
        `pullwright p99   ${w.p99.toFixed(2)} ms  (target < 50 ms)\n` +
        `CPU per delivery (server + load generator, robust to a busy machine): bare ${b.cpuMs.toFixed(3)} ms, probot ${p.cpuMs.toFixed(3)} ms, pullwright ${w.cpuMs.toFixed(3)} ms; probot/pullwright ${(p.cpuMs / w.cpuMs).toFixed(2)}x\n` +
        `jobs enqueued by pullwright: ${enqueued} of ${only && only !== 'pullwright' ? 0 : Math.ceil(REQUESTS / ROUNDS) * ROUNDS + WARMUP} deliveries; 👀 requests recorded: ${ackRequests}; GitHub stub calls: ${await (await fetch(`${stub.url}/_calls`)).text()}\n`,
    );
  } finally {
    await app.taskQueue.queue.obliterate({ force: true }).catch(() => {});
    await app.close();
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    bare.close();
    bare.closeAllConnections();
    probotServer.close();
    probotServer.closeAllConnections();
    stub.stop();
    redis.disconnect();
  }
}

await main();
