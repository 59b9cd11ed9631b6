/**
 * The intake benchmark's load generator, in a process of its own: signing,
 * sending and timing deliveries costs CPU, and on the servers' event loop that
 * cost would be added to every server alike and squeeze their ratios towards 1.
 * The parent sends one `LoadRequest` per measurement and gets a `LoadResult`.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';

export interface LoadRequest {
  url: string;
  path: string;
  secret: string;
  repo: string;
  /** Issue numbers start after this, so every delivery is a new trigger. */
  offset: number;
  count: number;
  concurrency: number;
  maxSeconds: number;
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  failed: number;
}

interface Delivery {
  body: string;
  signature: string;
  id: string;
}

/** An authorized `@agent` mention on a distinct issue, shaped like GitHub's `issue_comment.created`. */
function makeDeliveries(r: LoadRequest): Delivery[] {
  const out: Delivery[] = [];
  for (let i = 0; i < r.count; i++) {
    const number = r.offset + i + 1;
    const body = JSON.stringify({
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
        name: r.repo,
        full_name: `octo/${r.repo}`,
        owner: { login: 'octo' },
        default_branch: 'main',
      },
      sender: { login: 'alice', id: 100, type: 'User' },
      installation: { id: 7 },
    });
    out.push({
      body,
      signature: `sha256=${createHmac('sha256', r.secret).update(body).digest('hex')}`,
      id: randomUUID(),
    });
  }
  return out;
}

async function run(r: LoadRequest): Promise<LoadResult> {
  const deliveries = makeDeliveries(r);
  const agent = new Agent({ keepAlive: true, maxSockets: r.concurrency });
  const target = new URL(r.url);
  const latencies: number[] = [];
  let next = 0;
  let ok = 0;
  let failed = 0;
  const deadline = Date.now() + r.maxSeconds * 1000;
  const send = (d: Delivery) =>
    new Promise<number>((resolve) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: r.path,
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
  await Promise.all(
    Array.from({ length: r.concurrency }, async () => {
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
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return { rps: (ok + failed) / seconds, p50: pct(50), p99: pct(99), ok, failed };
}

process.on('message', (message: LoadRequest) => {
  run(message).then(
    (result) => process.send?.({ result }),
    (err: unknown) => process.send?.({ error: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
