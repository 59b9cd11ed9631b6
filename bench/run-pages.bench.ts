/**
 * Run pages (issue 16): bytes per run in the store for the demo run and a long run
 * (45 turns, large outputs), the server time of the long run's page (p50 over
 * loopback HTTP, signed in, access cached), and the time from a tool call in the
 * worker's recorder to its entry reaching an open page's event stream.
 *
 * Needs Redis (`scripts/services.sh up`). Run: `npx tsx bench/run.ts run-pages`.
 */
import { httpSignIn, recordDemoRun, startPagesHarness } from '../tests/runs/pages-harness.js';
import { DEMO_PATCH } from '../tests/runs/run-fixtures.js';
import type { RunRecorder } from '../worker/run-record/run-recorder.js';

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number;
}

/** Build-log-like text that compresses about as well as real output (ids, paths, timings vary). */
const WORDS = [
  'compiling',
  'module',
  'test',
  'passed',
  'resolved',
  'warning',
  'src/store',
  'cache',
  'chunk',
  'emitted',
  'ok',
  'at',
  'in',
];
const lorem = (seed: number, chars: number) => {
  let x = seed * 2654435761;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x;
  };
  let out = '';
  while (out.length < chars) {
    const words = Array.from({ length: 6 }, () => WORDS[rnd() % WORDS.length]).join(' ');
    out += `${words} ${rnd().toString(36)} ${(rnd() % 9000) / 10} ms src/${rnd().toString(16)}.ts:${rnd() % 400}\n`;
  }
  return out.slice(0, chars);
};

async function recordLongRun(recorder: RunRecorder, finish = true): Promise<void> {
  recorder.started({ title: 'Refactor the storage layer' });
  recorder.onSession({ type: 'phase', phase: 'agent' });
  for (let turn = 1; turn <= 45; turn++) {
    recorder.onSession({
      type: 'turn',
      turn,
      usage: { input: 2000, output: 600, cacheRead: 30_000, cacheWrite: 1500 },
      ...({ costUsd: 0.021, model: 'claude-sonnet-4-5', text: lorem(turn, 1200) } as object),
    } as never);
    recorder.onSession({
      type: 'tool',
      name: 'bash',
      summary: `npm test -- part ${turn}`,
      durationMs: 4200,
      isError: turn % 9 === 0,
      ...({
        turn,
        input: { command: `npm test -- part ${turn}` },
        output: lorem(turn * 100, 40_000),
      } as object),
    } as never);
    recorder.onSession({
      type: 'tool',
      name: 'str_replace_based_edit_tool',
      summary: 'view',
      durationMs: 12,
      isError: false,
      ...({
        turn,
        input: { command: 'view', path: `src/store/part-${turn}.ts` },
        output: lorem(turn * 1000, 12_000),
      } as object),
    } as never);
    recorder.onSession({
      type: 'tool',
      name: 'str_replace_based_edit_tool',
      summary: 'edit',
      durationMs: 9,
      isError: false,
      ...({
        turn,
        input: {
          command: 'str_replace',
          path: `src/store/part-${turn}.ts`,
          old_str: lorem(turn, 600),
          new_str: lorem(turn + 1, 700),
        },
        output: 'ok',
      } as object),
    } as never);
    if (turn % 5 === 0)
      recorder.onSession({
        type: 'plan',
        items: Array.from({ length: 9 }, (_, i) => ({
          step: `Step ${i + 1} of the refactor`,
          status: i < turn / 5 ? 'completed' : 'pending',
        })),
      });
  }
  recorder.delivered({
    prNumber: 99,
    prUrl: 'http://twin.test/acme/widgets/pull/99',
    branch: 'pullwright/issue-99',
  });
  recorder.session({
    agent: {
      outcome: 'finished',
      summary: '',
      usage: { input: 90_000, output: 27_000, cacheRead: 1_350_000, cacheWrite: 67_500, costUsd: 0.945 },
      turns: 45,
      durationMs: 600_000,
      plan: [],
      memory: {},
      memoryBytes: 0,
    },
    setup: null,
    verify: [
      {
        command: 'npm test',
        exitCode: 0,
        ok: true,
        timedOut: false,
        durationMs: 9000,
        outputTail: lorem(5, 8000),
      },
    ],
    blockedHosts: [],
    patch: {
      patch: DEMO_PATCH.repeat(200),
      paths: ['src/greet.ts'],
      stats: { files: 1, additions: 600, deletions: 0, bytes: DEMO_PATCH.length * 200 },
    },
  } as never);
  if (finish) recorder.finish({ status: 'succeeded', prNumber: 99 });
  await recorder.flushed();
}

const h = await startPagesHarness();
try {
  const demo = h.recorder();
  await recordDemoRun(demo);
  const long = h.recorder({ number: 99 });
  await recordLongRun(long);
  const rows: [string, string][] = [];
  for (const [name, r] of [
    ['demo run', demo],
    ['long run (45 turns, ~40 KB outputs)', long],
  ] as const) {
    const record = await h.store.getRecord(r.runId);
    if (!record) throw new Error('run missing');
    const json = Buffer.byteLength(JSON.stringify(record.events));
    rows.push([
      `${name}: stored bytes (compressed) / retained JSON / entries / omitted`,
      `${record.meta.bytes} / ${json} / ${record.events.length} / ${record.meta.omitted}`,
    ]);
  }

  const cookie = await httpSignIn(h, 'bob');
  const url = `${h.app.url}/runs/${long.runId}`;
  const times: number[] = [];
  let htmlBytes = 0;
  let first = 0;
  const roundTrips: number[] = [];
  for (let i = 0; i < 60; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers: { cookie } });
    const body = await res.text();
    if (res.status !== 200 || !body.includes('part 45'))
      throw new Error(`page ${res.status} without the run`);
    const server = Number(/dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1]);
    if (i === 0) first = server;
    if (i >= 10) {
      times.push(server);
      roundTrips.push(performance.now() - t0);
    }
    htmlBytes = Buffer.byteLength(body);
  }
  rows.push([
    'long run page, very first load (access check on GitHub, cold JIT, read, decompress, render): server time',
    `${first.toFixed(1)} ms`,
  ]);
  // Another finished long run, loaded once: a run nobody opened since this process started.
  const colds: number[] = [];
  for (let i = 0; i < 5; i++) {
    const other = h.recorder({ number: 200 + i });
    await recordLongRun(other);
    const res = await fetch(`${h.app.url}/runs/${other.runId}`, { headers: { cookie } });
    await res.text();
    colds.push(Number(/dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1]));
  }
  rows.push([
    'long run page, first load of a finished run (read, decompress, render; 5 runs): server time p50',
    `${pct(colds, 50).toFixed(1)} ms`,
  ]);
  rows.push([
    'long run page, later loads (rendered body kept): server time p50 / p95 (50 loads)',
    `${pct(times, 50).toFixed(1)} / ${pct(times, 95).toFixed(1)} ms`,
  ]);
  // A running run is rendered on each load: the same long run, read live.
  const running = h.recorder({ number: 98 });
  await recordLongRun(running, false);
  const liveTimes: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    const res = await fetch(`${h.app.url}/runs/${running.runId}`, { headers: { cookie } });
    await res.text();
    void t0;
    if (i >= 5) liveTimes.push(Number(/dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1]));
  }
  rows.push([
    'long run page while running (read from the stream and rendered on each load): server time p50 / p95',
    `${pct(liveTimes, 50).toFixed(1)} / ${pct(liveTimes, 95).toFixed(1)} ms`,
  ]);
  rows.push(['long run page HTML', `${(htmlBytes / 1024).toFixed(0)} KiB`]);

  // Tool call → entry on an open page's event stream.
  const live = h.recorder({ number: 5 });
  live.started({ title: 'live' });
  await live.flushed();
  const record = await h.store.getRecord(live.runId);
  const controller = new AbortController();
  const res = await fetch(`${h.app.url}/runs/${live.runId}/events?after=${record?.lastStreamId}`, {
    headers: { cookie },
    signal: controller.signal,
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  const nextEntry = async (): Promise<void> => {
    for (;;) {
      const idx = buffered.indexOf('event: entry');
      const end = idx >= 0 ? buffered.indexOf('\n\n', idx) : -1;
      if (end >= 0) {
        buffered = buffered.slice(end + 2);
        return;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buffered += decoder.decode(value, { stream: true });
    }
  };
  const lat: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now();
    live.onSession({
      type: 'tool',
      name: 'bash',
      summary: `echo ${i}`,
      durationMs: 1,
      isError: false,
      ...({ output: `${i}` } as object),
    } as never);
    await nextEntry();
    lat.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
  }
  controller.abort();
  rows.push([
    "tool call → entry on an open page's event stream, p50 / p95 (40 calls)",
    `${pct(lat, 50).toFixed(1)} / ${pct(lat, 95).toFixed(1)} ms`,
  ]);
  live.finish({ status: 'succeeded' });
  await live.flushed();

  process.stdout.write('\n| measure | value |\n| --- | --- |\n');
  for (const [k, v] of rows) process.stdout.write(`| ${k} | ${v} |\n`);
} finally {
  await h.close();
}
