import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunAgentOptions, runAgent } from '../../../worker/agent/loop/run-agent.js';
import type { AgentEvent } from '../../../worker/agent/tool.js';
import { createAnthropicModel } from '../../../worker/model/anthropic-model.js';
import {
  type ModelTwin,
  ONE_PROCESS_TESTS,
  SCENARIO_HEADER,
  startModelTwin,
  writeFixFailingTestRepo,
  writeLongTrajectoryRepo,
} from '../../twins/model/index.js';
import { createLocalSandbox } from './local-sandbox.js';
import { twinRunOptions } from './twin-run.js';

/** The loop through the real SDK over HTTP against the model twin, with the real tools on a host temp dir. */
describe('runAgent against the model twin', { timeout: 120_000 }, () => {
  let twin: ModelTwin;
  let dir: string;

  beforeAll(async () => {
    // The scenarios run the fixture's test files in one node process: the tests its `npm test`
    // script runs, without npm's start-up and node --test's process per file (0.1-0.2 CPU-s each).
    // The check after the first run below uses `node --test` itself.
    twin = await startModelTwin({ scenario: 'echo', testCommand: ONE_PROCESS_TESTS });
  });
  afterAll(async () => {
    await twin.close();
  });
  beforeEach(async () => {
    twin.reset();
    dir = await mkdtemp(join(tmpdir(), 'pw-loop-twin-'));
    return async () => {
      await rm(dir, { recursive: true, force: true });
    };
  });

  function options(
    scenario: string,
    overrides: Partial<RunAgentOptions> = {},
    contextWindow = 200_000,
  ): RunAgentOptions {
    return twinRunOptions(twin, dir, scenario, { contextWindow }, overrides);
  }

  it('streams a whole scenario to completion, reading the prefix from the cache', async () => {
    await writeFixFailingTestRepo(dir);
    const events: AgentEvent[] = [];
    let streamed = '';
    const result = await runAgent({
      ...options('fix-failing-test'),
      onEvent: (e) => events.push(e),
      onText: (d) => {
        streamed += d;
      },
    });
    expect(result.outcome).toBe('succeeded');
    expect(result.turns).toBeGreaterThan(4);
    expect(result.plan.length).toBeGreaterThan(0);
    expect(result.plan.every((p) => p.status === 'completed')).toBe(true);
    expect(streamed.length).toBeGreaterThan(0);
    // The fix is real: the repo's tests pass now.
    const check = await createLocalSandbox(dir).exec({ cmd: 'node --test 2>&1', timeoutMs: 60_000 });
    expect(check.exitCode).toBe(0);
    // Caching: at most 4 breakpoints, reads from the second request on.
    for (const r of twin.requests) expect(r.cache?.breakpoints.length ?? 0).toBeLessThanOrEqual(4);
    expect(twin.usage.cacheReadInputTokens).toBeGreaterThan(0);
    expect(twin.usage.cacheCreation1hInputTokens).toBeGreaterThan(0);
    expect(result.usage.cacheRead).toBe(twin.usage.cacheReadInputTokens);
    expect(events.filter((e) => e.type === 'turn')).toHaveLength(result.turns);
    // The key never reaches the transcript.
    const transcript = await readFile(join(dir, '.transcript', 'run.jsonl'), 'utf8');
    expect(transcript).not.toContain(twin.apiKey);
    expect(transcript.trim().split('\n').at(-1)).toMatch(/"type":"result"/);
  });

  it('compacts a long trajectory in a small window and still finishes, with the cache doing most of the work', async () => {
    await writeLongTrajectoryRepo(dir);
    const events: AgentEvent[] = [];
    const window = 20_000;
    const result = await runAgent({
      ...options('long-trajectory', { budgets: { maxTurns: 80, maxCostUsd: 5, maxWallMs: 240_000 } }, window),
      onEvent: (e) => events.push(e),
    });
    expect(result.outcome).toBe('succeeded');
    const compactions = events.filter((e) => e.type === 'status' && /Cleared|Summarized/.test(e.message));
    expect(compactions.length).toBeGreaterThan(0);
    const ok = twin.requests.filter((r) => r.status === 200 && r.usage);
    for (const r of ok) {
      const u = r.usage;
      if (!u) continue;
      expect(u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens).toBeLessThan(window);
    }
    const read = ok.reduce((a, r) => a + (r.usage?.cache_read_input_tokens ?? 0), 0);
    const all = ok.reduce(
      (a, r) =>
        a +
        (r.usage
          ? r.usage.input_tokens + r.usage.cache_read_input_tokens + r.usage.cache_creation_input_tokens
          : 0),
      0,
    );
    expect(read / all).toBeGreaterThan(0.7);
  });

  it('reports malformed tool calls as tool errors and goes on', async () => {
    await writeFixFailingTestRepo(dir);
    const result = await runAgent(options('malformed-tool-input'));
    expect(result.outcome).toBe('succeeded');
    expect(result.summary).toMatch(/^Both malformed calls were reported as tool errors/);
  });

  it('ends a model that never stops at the turn budget', async () => {
    const result = await runAgent({
      ...options('never-stops'),
      budgets: { maxTurns: 6, maxCostUsd: 5, maxWallMs: 60_000 },
    });
    expect(result).toMatchObject({ outcome: 'limit', limit: 'turns', turns: 6 });
    const last = twin.requests.at(-1)?.body as { messages: { content: unknown }[] };
    expect(JSON.stringify(last.messages.at(-1))).toMatch(/Wrap up now/);
  });

  it('rides out a 529 and a cut stream during a run', async () => {
    await writeFixFailingTestRepo(dir);
    twin.faults.add({ status: 529, times: 1 });
    twin.faults.add({ cutStreamAfterEvents: 3, times: 1 });
    const result = await runAgent(options('fix-failing-test'));
    expect(result.outcome).toBe('succeeded');
    expect(twin.requests.some((r) => r.status === 529)).toBe(true);
  });

  it('ends as failed with the code when the model keeps failing', async () => {
    twin.faults.add({ status: 500, times: 20 });
    const result = await runAgent(options('fix-failing-test'));
    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe('upstream_unavailable');
  });

  it('ends as failed with code timeout when a request stalls past the model timeout', async () => {
    twin.faults.add({ delayMs: 10_000, times: 1 });
    const base = options('fix-failing-test');
    const model = createAnthropicModel({
      apiKey: twin.apiKey,
      baseURL: twin.url,
      model: 'claude-sonnet-5-5',
      maxOutputTokens: 1024,
      timeoutMs: 1_000,
      retry: { maxRetries: 0 },
      defaultHeaders: { [SCENARIO_HEADER]: 'fix-failing-test' },
    });
    const result = await runAgent({ ...base, model });
    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe('timeout');
  });

  it('is cancelled promptly with a request in flight', async () => {
    twin.faults.add({ delayMs: 10_000, times: 1 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const t0 = Date.now();
    const result = await runAgent({ ...options('fix-failing-test'), signal: controller.signal });
    expect(result.outcome).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
