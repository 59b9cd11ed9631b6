/**
 * Token efficiency of the agent loop on a heavy trajectory: the model twin's
 * `heavy-trajectory` scenario (46 turns on a realistic repository whose outputs are
 * hundreds of KB to MB: full test logs of ~620 KB, a 820 KB log and a 440 KB generated
 * module read whole, wide greps of 450–760 KB, `cat` of 1.4 MB of vendored files, `find /`)
 * run against the twin's honest prompt-cache accounting, in one process:
 *
 * - baseline: a plain loop (rolling 5 min breakpoint on the newest message plus one on
 *   the system prompt, tool output cut at 30,000 characters as Claude Code does by
 *   default, no clearing, no compaction), with the twin's simple tool runner;
 * - harness without clearing: the real `runAgent` and tools as they were before stale
 *   results were cleared (caps, cache breakpoints, compaction only near the window);
 * - harness before: the real `runAgent` with the clearing defaults before the write-clearing
 *   work (two kept turns, trigger 36k, target 0.55 of it, whole-file writes kept, views of
 *   giant files kept at the editor's window);
 * - harness: the real `runAgent` with its defaults (giant outputs and views of giant files
 *   sampled once as they enter, stale tool results and stale whole-file writes cleared in
 *   batches that reach a target with the least cache rewrite, anchored on a cache
 *   breakpoint, compaction at the context cap, session memory);
 * - harness, thinking: the same on the scenario's thinking variant on a model with
 *   preserved thinking, to measure what clearing costs in invalidated thinking.
 *
 * Then the same baseline / before / after on five other trajectories of the same kind
 * (`heavyTrajectoryVariant(seed)`: 40 steps reshuffled within the scenario's phases), so a
 * policy fitted to the one script would show.
 *
 * Tool execution is local for all: real processes on a temp copy of the repository
 * (host, no container), so the figures are about the harness, not Docker. The harness
 * time per turn excludes model latency and time inside the Sandbox port.
 *
 * `npm run bench -- tokens`
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createSilentLogger } from '../src/logger.js';
import { createLocalSandbox } from '../tests/agent/loop/local-sandbox.js';
import { SCENARIO_HEADER, startModelTwin, writeHeavyTrajectoryRepo } from '../tests/twins/model/index.js';
import { heavyTrajectoryVariant } from '../tests/twins/model/scenarios/heavy-trajectory.js';
import { SYSTEM_PROMPT } from '../tests/twins/model/testing/agent-loop.js';
import { TOOL_DEFINITIONS, ToolRunner } from '../tests/twins/model/testing/tool-runner.js';
import type { RecordedRequest } from '../tests/twins/model/types.js';
import type { CompactionOptions } from '../worker/agent/loop/compaction.js';
import { type AgentResult, runAgent } from '../worker/agent/loop/run-agent.js';
import { withMemoryTool } from '../worker/agent/memory/memory-tool.js';
import { createDefaultTools } from '../worker/agent/tools/index.js';
import { createAnthropicModel } from '../worker/model/anthropic-model.js';
import type { ContentBlock, Message, Model, ModelRequest, ModelResponse } from '../worker/model/model.js';
import type { Sandbox } from '../worker/sandbox/sandbox.js';

const MODEL = 'claude-sonnet-5-5';
const WINDOW = 200_000;
const TASK = 'Fix the failing tests of this repository, then write short notes on what you changed.';

const SCENARIO = 'heavy-trajectory';
const twin = await startModelTwin({ scenario: SCENARIO });

function twinModel(scenario = SCENARIO, preservedThinking?: boolean): Model {
  return createAnthropicModel({
    apiKey: twin.apiKey,
    baseURL: twin.url,
    model: MODEL,
    maxOutputTokens: 8192,
    timeoutMs: 60_000,
    contextWindow: WINDOW,
    ...(preservedThinking === undefined ? {} : { preservedThinking }),
    defaultHeaders: { [SCENARIO_HEADER]: scenario },
  });
}

/** A model wrapper that records when each call starts and ends. */
function timed(model: Model, spans: { start: number; end: number }[]): Model {
  return {
    name: model.name,
    contextWindow: model.contextWindow,
    preservedThinking: model.preservedThinking,
    async complete(request: ModelRequest): Promise<ModelResponse> {
      const start = performance.now();
      try {
        return await model.complete(request);
      } finally {
        spans.push({ start, end: performance.now() });
      }
    },
  };
}

/** A sandbox wrapper that records time spent inside it. */
function timedSandbox(sandbox: Sandbox, spans: { start: number; end: number }[]): Sandbox {
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const start = performance.now();
      try {
        return await fn(...a);
      } finally {
        spans.push({ start, end: performance.now() });
      }
    };
  return {
    id: sandbox.id,
    workdir: sandbox.workdir,
    exec: wrap((o) => sandbox.exec(o)),
    readFile: wrap((p) => sandbox.readFile(p)),
    writeFile: wrap((p, d) => sandbox.writeFile(p, d)),
    blockedConnections: () => sandbox.blockedConnections(),
    dispose: () => sandbox.dispose(),
  };
}

interface Figures {
  requests: number;
  finished: boolean;
  billedInput: number;
  cacheRead: number;
  write5m: number;
  write1h: number;
  uncached: number;
  output: number;
  cacheShare: number;
  /** Input-token equivalents per request: uncached 1x, reads 0.1x, 5 min writes 1.25x, 1 h writes 2x. */
  weightedPerRequest: number;
  peakContext: number;
}

function figures(requests: RecordedRequest[], finished: boolean): Figures {
  const ok = requests.filter((r) => r.path === '/v1/messages' && r.status === 200 && r.usage);
  let uncached = 0;
  let cacheRead = 0;
  let write5m = 0;
  let write1h = 0;
  let output = 0;
  let peakContext = 0;
  for (const r of ok) {
    const u = r.usage;
    if (!u) continue;
    uncached += u.input_tokens;
    cacheRead += u.cache_read_input_tokens;
    write5m += u.cache_creation.ephemeral_5m_input_tokens;
    write1h += u.cache_creation.ephemeral_1h_input_tokens;
    output += u.output_tokens;
    peakContext = Math.max(
      peakContext,
      u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens + u.output_tokens,
    );
  }
  const billedInput = uncached + cacheRead + write5m + write1h;
  const weighted = uncached + cacheRead * 0.1 + write5m * 1.25 + write1h * 2;
  return {
    requests: ok.length,
    finished,
    billedInput,
    cacheRead,
    write5m,
    write1h,
    uncached,
    output,
    cacheShare: billedInput === 0 ? 0 : cacheRead / billedInput,
    weightedPerRequest: ok.length === 0 ? 0 : weighted / ok.length,
    peakContext,
  };
}

/** The plain loop: whole history every turn, rolling breakpoint, 30,000-character cut, nothing else. */
async function runBaseline(dir: string, scenario = SCENARIO): Promise<boolean> {
  const model = twinModel(scenario);
  const runner = new ToolRunner(dir);
  const messages: Message[] = [{ role: 'user', content: [{ type: 'text', text: TASK }] }];
  for (let turn = 0; turn < 80 && runner.finished === null; turn += 1) {
    const sent = messages.map((m, i): Message => {
      if (i !== messages.length - 1) return m;
      const content = m.content.slice();
      content[content.length - 1] = {
        ...(content.at(-1) as ContentBlock),
        cache_control: { type: 'ephemeral' },
      };
      return { role: m.role, content };
    });
    const response = await model.complete({
      system: [{ type: 'text', text: SYSTEM_PROMPT, cache_control: { type: 'ephemeral' } }],
      tools: TOOL_DEFINITIONS,
      messages: sent,
    });
    messages.push({ role: 'assistant', content: response.content });
    const uses = response.content.filter((b) => b.type === 'tool_use');
    if (uses.length === 0) break;
    const results: ContentBlock[] = [];
    for (const use of uses) {
      // ToolRunner cuts every output at 30,000 characters (head and tail), the baseline's only cap.
      const r = await runner.run(use.name, use.input);
      results.push({
        type: 'tool_result',
        tool_use_id: use.id,
        content: r.content || '(empty)',
        is_error: r.isError,
      });
    }
    messages.push({ role: 'user', content: results });
  }
  return runner.finished !== null;
}

interface HarnessRun {
  finished: boolean;
  overheadMs: number[];
  turns: number;
  result: AgentResult;
}

async function runHarness(
  dir: string,
  compaction: Partial<CompactionOptions>,
  model: Model = twinModel(),
  extra: { maxGiantResultChars?: number; maxGiantViewChars?: number } = {},
): Promise<HarnessRun> {
  const modelSpans: { start: number; end: number }[] = [];
  const sandboxSpans: { start: number; end: number }[] = [];
  const result = await runAgent({
    model: timed(model, modelSpans),
    sandbox: timedSandbox(createLocalSandbox(dir), sandboxSpans),
    tools: withMemoryTool(createDefaultTools()),
    system: SYSTEM_PROMPT,
    firstUserMessage: TASK,
    budgets: { maxTurns: 80, maxCostUsd: 50, maxWallMs: 900_000 },
    signal: new AbortController().signal,
    log: createSilentLogger(),
    transcriptPath: join(dir, '..', `transcript-${Date.now()}.jsonl`),
    compaction,
    ...extra,
  });
  // Harness time of a turn: from the end of one model call to the start of the next, minus time in the sandbox.
  const overheadMs: number[] = [];
  for (let i = 0; i + 1 < modelSpans.length; i += 1) {
    const from = (modelSpans[i] as { end: number }).end;
    const to = (modelSpans[i + 1] as { start: number }).start;
    const inSandbox = sandboxSpans
      .filter((s) => s.start >= from && s.end <= to)
      .reduce((a, s) => a + (s.end - s.start), 0);
    overheadMs.push(Math.max(0, to - from - inSandbox));
  }
  return { finished: result.outcome === 'succeeded', overheadMs, turns: result.turns, result };
}

function pct(values: number[], p: number): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** The loop as it was before stale results were cleared: compaction only near the window (0.7 of 200k). */
const NO_CLEARING: Partial<CompactionOptions> = {
  clearStale: false,
  maxContextTokens: Number.POSITIVE_INFINITY,
};

/** The clearing defaults before stale whole-file writes were cleared (bench/RESULTS.md, issue 18, third session). */
const CLEARING_BEFORE: Partial<CompactionOptions> = {
  clearWrites: false,
  clearKeepTurns: 2,
  clearAtTokens: 36_000,
  clearTargetShare: 0.55,
};
/** Giant outputs were sampled before; views of giant files were not. */
const VIEWS_BEFORE = { maxGiantViewChars: Number.POSITIVE_INFINITY };
const NO_GIANT_SAMPLE = { maxGiantResultChars: Number.POSITIVE_INFINITY };

const root = await mkdtemp(join(tmpdir(), 'pw-bench-tokens-'));
try {
  const dirs = ['baseline', 'plain-harness', 'harness-before', 'harness', 'thinking'].map((d) =>
    join(root, d),
  );
  for (const d of dirs) await writeHeavyTrajectoryRepo(d);
  const [baseDir, plainDir, beforeDir, harnessDir, thinkingDir] = dirs as [
    string,
    string,
    string,
    string,
    string,
  ];

  twin.reset();
  const baseFinished = await runBaseline(baseDir);
  const base = figures(twin.requests, baseFinished);

  twin.reset();
  const p = await runHarness(plainDir, NO_CLEARING, twinModel(), NO_GIANT_SAMPLE);
  const plain = figures(twin.requests, p.finished);

  twin.reset();
  const b = await runHarness(beforeDir, CLEARING_BEFORE, twinModel(), VIEWS_BEFORE);
  const before = figures(twin.requests, b.finished);

  twin.reset();
  const h = await runHarness(harnessDir, {});
  const harness = figures(twin.requests, h.finished);

  twin.reset();
  const t = await runHarness(thinkingDir, {}, twinModel(`${SCENARIO}-thinking`, true));
  const thinking = figures(twin.requests, t.finished);
  const rejected = twin.requests.filter((r) => r.path === '/v1/messages' && r.status === 400).length;

  // Other trajectories of the same kind: baseline, before and after on each.
  const variants: { seed: number; base: Figures; before: Figures; after: Figures }[] = [];
  for (const seed of [1, 2, 3, 4, 5]) {
    const scenario = heavyTrajectoryVariant(seed);
    twin.scenarios[scenario.name] = scenario;
    const vdirs = ['base', 'before', 'after'].map((d) => join(root, `v${seed}`, d));
    for (const d of vdirs) await writeHeavyTrajectoryRepo(d);
    const [vb, vbefore, vafter] = vdirs as [string, string, string];
    twin.reset();
    const baseOk = await runBaseline(vb, scenario.name);
    const vBase = figures(twin.requests, baseOk);
    twin.reset();
    const r1 = await runHarness(vbefore, CLEARING_BEFORE, twinModel(scenario.name), VIEWS_BEFORE);
    const vBefore = figures(twin.requests, r1.finished);
    twin.reset();
    const r2 = await runHarness(vafter, {}, twinModel(scenario.name));
    variants.push({ seed, base: vBase, before: vBefore, after: figures(twin.requests, r2.finished) });
  }

  const cols: [string, Figures][] = [
    ['baseline', base],
    ['no clearing', plain],
    ['harness before', before],
    ['harness', harness],
    ['harness+think', thinking],
  ];
  const row = (label: string, f: (x: Figures) => string) =>
    `${label.padEnd(34)}${cols.map(([, x]) => f(x).padStart(15)).join('')}`;
  const n = (v: number) => Math.round(v).toLocaleString('en-US');
  const lines = [
    `${''.padEnd(34)}${cols.map(([l]) => l.padStart(15)).join('')}`,
    row('requests', (x) => String(x.requests)),
    row('finished the task', (x) => String(x.finished)),
    row('billed input tokens', (x) => n(x.billedInput)),
    row('  read from cache', (x) => n(x.cacheRead)),
    row('  cache writes 5m / 1h', (x) => `${n(x.write5m)}/${n(x.write1h)}`),
    row('  uncached', (x) => n(x.uncached)),
    row('output tokens', (x) => n(x.output)),
    row('share of input read from cache', (x) => `${(x.cacheShare * 100).toFixed(1)} %`),
    row('cache-weighted input per request', (x) => n(x.weightedPerRequest)),
    row('peak context (tokens)', (x) => n(x.peakContext)),
  ];
  const ctx = (r: HarnessRun) => r.result.context;
  const describeRun = (label: string, r: HarnessRun) => {
    const c = ctx(r);
    return `${label}: ${c?.batches ?? 0} clearing batches (${c?.cleared ?? 0} results, ${n(c?.savedTokens ?? 0)} tokens removed, ${n(c?.rewrittenTokens ?? 0)} tokens re-written to the cache), ${c?.summaries ?? 0} summaries, thinking blocks removed ${c?.thinkingDropped ?? 0} (~${n(c?.thinkingTokensDropped ?? 0)} tokens), memory ${r.result.memoryBytes ?? 0} bytes`;
  };
  const ratio = (x: Figures) => x.weightedPerRequest / base.weightedPerRequest;
  const p50 = pct(h.overheadMs, 50);
  const p95 = pct(h.overheadMs, 95);
  lines.push(
    '',
    `cost per request vs baseline: no clearing ${ratio(plain).toFixed(3)}x, harness before ${ratio(before).toFixed(3)}x, harness ${ratio(harness).toFixed(3)}x (target <= 0.45x), harness+thinking ${ratio(thinking).toFixed(3)}x`,
    `total cache-weighted input vs baseline: no clearing ${((plain.weightedPerRequest * plain.requests) / (base.weightedPerRequest * base.requests)).toFixed(3)}x, harness ${((harness.weightedPerRequest * harness.requests) / (base.weightedPerRequest * base.requests)).toFixed(3)}x`,
    `harness cache share: ${(harness.cacheShare * 100).toFixed(1)} % (target >= 92 %); peak context ${n(harness.peakContext)} (target <= 40,000)`,
    describeRun('harness before', b),
    describeRun('harness', h),
    describeRun('harness+thinking', t),
    `thinking run: ${rejected} requests rejected by the twin's thinking rules (must be 0)`,
    `harness time per turn, excluding model and sandbox: p50 ${p50.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms over ${h.overheadMs.length} turns (target p50 < 50 ms)`,
  );
  const share = (x: Figures) => `${(x.cacheShare * 100).toFixed(1)} %`;
  lines.push(
    '',
    'other trajectories (heavyTrajectoryVariant, 40 steps): harness before -> harness (share, cost per request vs that baseline, peak)',
  );
  for (const v of variants) {
    const r = (x: Figures) => (x.weightedPerRequest / v.base.weightedPerRequest).toFixed(3);
    lines.push(
      `  seed ${v.seed}: ${v.after.requests} requests, finished ${v.before.finished}/${v.after.finished}: share ${share(v.before)} -> ${share(v.after)}, cost ${r(v.before)}x -> ${r(v.after)}x, peak ${n(v.before.peakContext)} -> ${n(v.after.peakContext)}`,
    );
  }
  const mean = (f: (v: (typeof variants)[number]) => number) =>
    variants.reduce((a, v) => a + f(v), 0) / Math.max(1, variants.length);
  lines.push(
    `  mean share ${(mean((v) => v.before.cacheShare) * 100).toFixed(1)} % -> ${(mean((v) => v.after.cacheShare) * 100).toFixed(1)} %, lowest after ${(Math.min(...variants.map((v) => v.after.cacheShare)) * 100).toFixed(1)} %, highest peak after ${n(Math.max(...variants.map((v) => v.after.peakContext)))}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await twin.close();
  await rm(root, { recursive: true, force: true });
}
