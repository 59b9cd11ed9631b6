/**
 * Intake throughput: signed `issue_comment` deliveries at 32 concurrent
 * keep-alive connections against four servers, measured in the same run:
 *   1. bare node:http: verify HMAC, JSON.parse, LPUSH to Redis (the practical limit);
 *   2. Probot with a no-op handler (the framework's own cost);
 *   3. Probot whose handler only adds a BullMQ job (the floor for any app that
 *      enqueues on the request path; shown for reference);
 *   4. the no-op Probot app behind Pullwright's webhook endpoint instead of
 *      Probot's Node middleware (reference: splits what Pullwright's HTTP
 *      plumbing saves from what its handling costs);
 *   5. Pullwright's app (match, authorize from the cache, dedup, enqueue, 👀 request;
 *      the workers post the reaction itself, so it is not measured here).
 * Each trigger is an authorized `@agent` mention on a distinct issue, so every
 * delivery really enqueues a job. GitHub is a small local stub (installation
 * token, permission, contents 404) so no request leaves loopback.
 *
 * Every server, the load generator and the stub run in processes of their own:
 * on one event loop or one heap they would pay for each other's work and
 * garbage, and "CPU per delivery" would not be the server's own. The machine is
 * small and noisy, so the servers take turns in rounds and the median round is
 * reported; CPU per delivery is the steadier figure. Redis's CPU per delivery
 * is reported beside it: the servers share the machine's cores with Redis, so
 * what a server asks of Redis costs it throughput too.
 */
import { fork, spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { localRedisUrl } from '../scripts/local-redis-url.js';
import { WEBHOOK_PATH } from '../src/app/app-server.js';
import type { LoadRequest, LoadResult } from './intake-load-generator.js';
import type { ServerKind, ServerMessage } from './intake-server.js';

const REDIS_URL = localRedisUrl();
const redisInfo = new Redis(REDIS_URL);
const CONCURRENCY = 32;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 15_000);
const WARMUP = 5_000;
const ROUNDS = 5;
const MAX_SECONDS = 60;
const SECRET = 'bench-webhook-secret';
const PREFIX = `pwbench-${randomUUID().slice(0, 8)}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const here = dirname(fileURLToPath(import.meta.url));

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

/** A load generator in its own process, so its work is not counted against the servers. */
function startLoadGenerator() {
  const child = fork(join(here, 'intake-load-generator.ts'), {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const run = (r: LoadRequest) =>
    new Promise<LoadResult>((resolve, reject) => {
      child.once('message', (m: { result?: LoadResult; error?: string }) =>
        m.result ? resolve(m.result) : reject(new Error(m.error ?? 'load generator failed')),
      );
      child.send(r);
    });
  return { run, stop: () => child.disconnect() };
}
type LoadGenerator = ReturnType<typeof startLoadGenerator>;

interface BenchServer {
  name: string;
  url: string;
  /** The server process's CPU time so far, in microseconds. */
  cpu(): Promise<number>;
  stats(): Promise<{ enqueued: number; acknowledgementRequests: number }>;
  close(): Promise<void>;
}

async function startServer(name: string, kind: ServerKind, stubUrl: string): Promise<BenchServer> {
  // BENCH_PROFILE_DIR=/some/dir writes a V8 CPU profile of each server process there.
  const profileDir = process.env.BENCH_PROFILE_DIR;
  const child = fork(join(here, 'intake-server.ts'), {
    execArgv: [
      '--import',
      'tsx',
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, kind)}`] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      SERVER_KIND: kind,
      REDIS_URL,
      BENCH_PREFIX: PREFIX,
      BENCH_SECRET: SECRET,
      BENCH_PEM: PEM,
      BENCH_STUB_URL: stubUrl,
    },
  });
  const next = <T extends ServerMessage['type']>(type: T, request?: object) =>
    new Promise<Extract<ServerMessage, { type: T }>>((resolve, reject) => {
      const onMessage = (m: ServerMessage) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as Extract<ServerMessage, { type: T }>);
      };
      const onExit = (code: number | null) => reject(new Error(`${name} server exited with ${code}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (request) child.send(request);
    });
  const { url } = await next('ready');
  return {
    name,
    url,
    cpu: async () => (await next('cpu', { type: 'cpu' })).micros,
    stats: async () => {
      const { enqueued, acknowledgementRequests } = await next('stats', { type: 'stats' });
      return { enqueued, acknowledgementRequests };
    },
    close: async () => {
      await next('closed', { type: 'close' });
    },
  };
}

interface RunResult extends LoadResult {
  /** The server process's CPU (user + system) per delivery, in ms. */
  cpuMs: number;
  /** Redis's CPU per delivery, in ms (all of Redis: the run is the only load on it). */
  redisCpuMs: number;
}

/**
 * Redis's own CPU time so far, in ms (`INFO cpu`, from getrusage): on a small
 * VM the queue's Lua scripts compete with the app for the same cores, so the
 * app's throughput also depends on what it asks Redis to do.
 */
async function redisCpuMs(): Promise<number> {
  const info = await redisInfo.info('cpu');
  const seconds = (name: string) =>
    Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1000;
}

async function load(
  gen: LoadGenerator,
  server: BenchServer,
  offset: number,
  count: number,
): Promise<RunResult> {
  const cpuBefore = await server.cpu();
  const redisBefore = await redisCpuMs();
  const result = await gen.run({
    url: server.url,
    path: WEBHOOK_PATH,
    secret: SECRET,
    repo: server.name.replace(/[^a-z0-9]+/g, '-'),
    offset,
    count,
    concurrency: CONCURRENCY,
    maxSeconds: MAX_SECONDS,
  });
  const delivered = Math.max(1, result.ok + result.failed);
  const cpuMs = ((await server.cpu()) - cpuBefore) / 1000 / delivered;
  const redisCpu = ((await redisCpuMs()) - redisBefore) / delivered;
  return { ...result, cpuMs, redisCpuMs: redisCpu };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** ROUNDS rounds, each server measured once per round; the median round is reported. */
async function measureAll(gen: LoadGenerator, servers: BenchServer[]): Promise<Map<string, RunResult>> {
  const perRound = Math.ceil(REQUESTS / ROUNDS);
  const results = new Map<string, RunResult[]>();
  for (const s of servers) {
    await load(gen, s, 0, WARMUP);
    results.set(s.name, []);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of servers)
      results.get(s.name)?.push(await load(gen, s, WARMUP + round * perRound, perRound));
  }
  const out = new Map<string, RunResult>();
  for (const [name, runs] of results) {
    const result = {
      cpuMs: median(runs.map((r) => r.cpuMs)),
      redisCpuMs: median(runs.map((r) => r.redisCpuMs)),
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      ok: runs.reduce((n, r) => n + r.ok, 0),
      failed: runs.reduce((n, r) => n + r.failed, 0),
    };
    out.set(name, result);
    process.stdout.write(
      `${name.padEnd(22)} ${result.rps.toFixed(0).padStart(6)} deliveries/s   p50 ${result.p50.toFixed(2)} ms   p99 ${result.p99.toFixed(2)} ms   cpu ${result.cpuMs.toFixed(3)} ms/delivery (Redis ${result.redisCpuMs.toFixed(3)})   (ok ${result.ok}, failed ${result.failed}; rounds: ${runs.map((r) => r.rps.toFixed(0)).join(', ')})\n`,
    );
  }
  return out;
}

const SERVERS: { name: string; kind: ServerKind }[] = [
  { name: 'bare node:http', kind: 'bare' },
  { name: 'probot no-op', kind: 'probot-noop' },
  { name: 'probot add-only', kind: 'probot-add-only' },
  { name: 'probot no-op, endpoint', kind: 'probot-noop-endpoint' },
  { name: 'pullwright', kind: 'pullwright' },
];

async function main() {
  const stub = await startGitHubStub();
  const gen = startLoadGenerator();
  // BENCH_ONLY=pullwright (or a comma-separated list) measures only those servers.
  const only = process.env.BENCH_ONLY;
  const wanted = SERVERS.filter(
    (s) => !only || only.split(',').some((o) => s.kind.startsWith(o) || s.name.startsWith(o)),
  );
  const servers = await Promise.all(wanted.map((s) => startServer(s.name, s.kind, stub.url)));
  process.stdout.write(
    `${REQUESTS} signed deliveries per server in ${ROUNDS} interleaved rounds after ${WARMUP} warm-up, ${CONCURRENCY} connections; each server in its own process\n`,
  );
  try {
    const results = await measureAll(gen, servers);
    const skip = {
      cpuMs: Number.NaN,
      redisCpuMs: Number.NaN,
      rps: Number.NaN,
      p50: Number.NaN,
      p99: Number.NaN,
      ok: 0,
      failed: 0,
    };
    const b = results.get('bare node:http') ?? skip;
    const p = results.get('probot no-op') ?? skip;
    const a = results.get('probot add-only') ?? skip;
    const e = results.get('probot no-op, endpoint') ?? skip;
    const w = results.get('pullwright') ?? skip;
    const pullwright = servers.find((s) => s.name === 'pullwright');
    const stats = pullwright ? await pullwright.stats() : { enqueued: 0, acknowledgementRequests: 0 };
    const delivered = w.ok + w.failed + (pullwright ? WARMUP : 0);
    process.stdout.write(
      `\nprobot/bare        ${(p.rps / b.rps).toFixed(2)}x\n` +
        `pullwright/probot  ${(w.rps / p.rps).toFixed(2)}x   (target >= 0.75x); add-only/probot ${(a.rps / p.rps).toFixed(2)}x\n` +
        `pullwright/(probot no-op behind the same endpoint) ${(w.rps / e.rps).toFixed(2)}x: the app's own handling, plumbing aside\n` +
        `pullwright p99     ${w.p99.toFixed(2)} ms  (target < 50 ms)\n` +
        `CPU per delivery, each server's own process: bare ${b.cpuMs.toFixed(3)} ms, probot ${p.cpuMs.toFixed(3)} ms, add-only ${a.cpuMs.toFixed(3)} ms, no-op behind endpoint ${e.cpuMs.toFixed(3)} ms, pullwright ${w.cpuMs.toFixed(3)} ms; probot/pullwright ${(p.cpuMs / w.cpuMs).toFixed(2)}x\n` +
        `Redis CPU per delivery: bare ${b.redisCpuMs.toFixed(3)} ms, probot ${p.redisCpuMs.toFixed(3)} ms, add-only ${a.redisCpuMs.toFixed(3)} ms, pullwright ${w.redisCpuMs.toFixed(3)} ms\n` +
        `jobs enqueued by pullwright: ${stats.enqueued} of ${delivered} deliveries; 👀 requests recorded: ${stats.acknowledgementRequests}; GitHub stub calls: ${await (await fetch(`${stub.url}/_calls`)).text()}\n`,
    );
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    stub.stop();
    gen.stop();
    redisInfo.disconnect();
  }
}

await main();
