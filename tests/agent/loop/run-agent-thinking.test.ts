import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunAgentOptions, runAgent } from '../../../worker/agent/loop/run-agent.js';
import type { AgentEvent } from '../../../worker/agent/tool.js';
import type { AnthropicModelOptions } from '../../../worker/model/anthropic-model.js';
import {
  type ModelTwin,
  memoryClearingRepo,
  ONE_PROCESS_TESTS,
  startModelTwin,
  writeFixFailingTestRepo,
} from '../../twins/model/index.js';
import { twinRunOptions } from './twin-run.js';

interface SentBlock {
  type: string;
  thinking?: string;
  signature?: string;
  data?: string;
}
interface SentMessage {
  role: string;
  content: SentBlock[] | string;
}

const isThinking = (b: SentBlock) => b.type === 'thinking' || b.type === 'redacted_thinking';
const key = (b: SentBlock) => JSON.stringify([b.type, b.thinking, b.signature, b.data]);

/**
 * The real loop and the real SDK against a twin that thinks like current models:
 * signed thinking blocks (some redacted, some between tool calls) that must come back
 * byte for byte, and on models with preserved thinking nothing before them may change.
 * Dropping them (what the adapter once did) fails the second request with a 400.
 */
describe('runAgent with a thinking model', { timeout: 180_000 }, () => {
  let twin: ModelTwin;
  let dir: string;

  beforeAll(async () => {
    // The fixture's test files run in one node process, not through npm and node --test's process
    // per file (each node start-up costs 0.1-0.2 CPU-s here).
    twin = await startModelTwin({ scenario: 'echo', testCommand: ONE_PROCESS_TESTS });
  });
  afterAll(async () => {
    await twin.close();
  });
  beforeEach(async () => {
    twin.reset();
    dir = await mkdtemp(join(tmpdir(), 'pw-loop-thinking-'));
    return async () => {
      await rm(dir, { recursive: true, force: true });
    };
  });

  function options(
    scenario: string,
    model: Partial<AnthropicModelOptions> = {},
    overrides: Partial<RunAgentOptions> = {},
  ): RunAgentOptions {
    return twinRunOptions(twin, dir, scenario, model, {
      budgets: { maxTurns: 80, maxCostUsd: 5, maxWallMs: 240_000 },
      ...overrides,
    });
  }

  async function writeRepo(files: Record<string, string>): Promise<void> {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
  }

  /** Every thinking block the twin returned, and whether the next request sent its turn back with it. */
  function replayReport() {
    const ok = twin.requests.filter((r) => r.path === '/v1/messages' && r.status === 200);
    let returned = 0;
    let replayed = 0;
    ok.forEach((r, i) => {
      const blocks = ((r.response ?? []) as SentBlock[]).filter(isThinking);
      returned += blocks.length;
      const next = ok[i + 1]?.body as { messages: SentMessage[] } | undefined;
      if (!next) return;
      const sent = next.messages.flatMap((m) => (typeof m.content === 'string' ? [] : m.content));
      const keys = new Set(sent.filter(isThinking).map(key));
      replayed += blocks.filter((b) => keys.has(key(b))).length;
    });
    return { ok: ok.length, returned, replayed };
  }

  it('replays every thinking block verbatim across tool turns and finishes', async () => {
    await writeFixFailingTestRepo(dir);
    const result = await runAgent(options('fix-failing-test-thinking'));
    expect(twin.requests.filter((r) => r.status !== 200).map((r) => r.error?.message)).toEqual([]);
    expect(result.outcome).toBe('succeeded');
    expect(result.turns).toBeGreaterThan(4);
    const body = twin.requests[0]?.body as { thinking?: unknown };
    expect(body.thinking).toEqual({ type: 'adaptive' });
    const report = replayReport();
    expect(report.returned).toBeGreaterThan(report.ok);
    // All but the last response's thinking went back with the next request.
    const lastThinking = ((twin.requests.at(-1)?.response ?? []) as SentBlock[]).filter(isThinking).length;
    expect(report.replayed).toBe(report.returned - lastThinking);
    const redacted = twin.requests
      .flatMap((r) => (r.response ?? []) as SentBlock[])
      .filter((b) => b.type === 'redacted_thinking');
    expect(redacted.length).toBeGreaterThan(0);
    // Thinking is output: the run's output tokens include it.
    const thinkingTokens = twin.requests.reduce(
      (a, r) => a + (r.usage?.output_tokens_details?.thinking_tokens ?? 0),
      0,
    );
    expect(thinkingTokens).toBeGreaterThan(0);
    expect(result.usage.output).toBe(twin.usage.outputTokens);
  });

  // memory-clearing reads a 110 KB file again and again: on a 20k window it clears and
  // summarizes several times in 14 turns, without the long trajectory's npm test runs.
  it('goes through compaction on a model with preserved thinking without a 400, and keeps thinking valid after it', async () => {
    await writeRepo(memoryClearingRepo());
    const events: AgentEvent[] = [];
    const result = await runAgent({
      ...options('memory-clearing-thinking', { contextWindow: 20_000 }),
      onEvent: (e) => events.push(e),
    });
    expect(twin.requests.filter((r) => r.status !== 200).map((r) => r.error?.message)).toEqual([]);
    expect(result.outcome).toBe('succeeded');
    const compactions = events.filter((e) => e.type === 'status' && /Cleared|Summarized/.test(e.message));
    expect(compactions.length).toBeGreaterThan(0);
    // Stale results were cleared in batches, each removing the thinking after its first change.
    expect(result.context?.batches).toBeGreaterThan(0);
    expect(result.context?.thinkingDropped).toBeGreaterThan(0);
    // After each compaction, the turns the model produces think again and are replayed.
    const report = replayReport();
    expect(report.replayed).toBeGreaterThan(report.ok / 2);
  });

  it('keeps thinking verbatim through compaction on a model without the prefix check (budgeted form)', async () => {
    await writeRepo(memoryClearingRepo());
    const result = await runAgent(
      options(
        'memory-clearing-thinking',
        {
          model: 'claude-opus-4-5',
          contextWindow: 20_000,
          thinkingBudgetTokens: 2048,
        },
        // The whole 16,000-character cap on each read of the big file, and two kept turns (the loop's
        // default keeps one, and clearing alone then stays under the threshold), so a 20k window needs a summary.
        { maxGiantResultChars: 16_000, compaction: { clearKeepTurns: 2 } },
      ),
    );
    expect(twin.requests.filter((r) => r.status !== 200).map((r) => r.error?.message)).toEqual([]);
    expect(result.outcome).toBe('succeeded');
    const body = twin.requests[0]?.body as { thinking?: unknown; max_tokens: number };
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    expect(body.max_tokens).toBeGreaterThan(2048);
    // It went through clearing and a summary with every thinking block kept as it was.
    expect(result.context?.summaries).toBeGreaterThan(0);
    expect(result.context?.thinkingDropped).toBe(0);
  });

  it('sends the configured effort with adaptive thinking, and no thinking when turned off', async () => {
    await writeFixFailingTestRepo(dir);
    await runAgent(
      options(
        'fix-failing-test',
        { effort: 'low' },
        { budgets: { maxTurns: 1, maxCostUsd: 5, maxWallMs: 60_000 } },
      ),
    );
    expect(twin.requests[0]?.body).toMatchObject({
      thinking: { type: 'adaptive' },
      output_config: { effort: 'low' },
    });
    twin.reset();
    const result = await runAgent(
      options('fix-failing-test-thinking', { model: 'claude-sonnet-5', thinking: 'off' }),
    );
    expect(twin.requests[0]?.body).toMatchObject({ thinking: { type: 'disabled' } });
    expect(result.outcome).toBe('succeeded');
    expect(twin.requests.flatMap((r) => (r.response ?? []) as SentBlock[]).filter(isThinking)).toEqual([]);
  });
});
