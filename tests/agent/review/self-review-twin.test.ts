import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../../src/logger.js';
import { type AgentResult, type Budgets, runAgent } from '../../../worker/agent/loop/run-agent.js';
import {
  renderReviewSection,
  reviewBeforeDelivery,
} from '../../../worker/agent/review/review-before-delivery.js';
import type { VerifyOutcome } from '../../../worker/agent/review/review-prompt.js';
import { runSelfReview, type SelfReviewInput } from '../../../worker/agent/review/run-self-review.js';
import type { AgentTask } from '../../../worker/agent/tool.js';
import type { HarnessEvent } from '../../../worker/agent/tools/harness-events.js';
import { type ModelTwin, startModelTwin, writeFixFailingTestRepo } from '../../twins/model/index.js';
import { harnessToolsScenario, REVIEWER_MARKER } from '../../twins/model/scenarios/harness-tools.js';
import { createLocalSandbox } from '../loop/local-sandbox.js';
import { twinRunOptions } from '../loop/twin-run.js';

const LIMITS: Budgets = { maxTurns: 40, maxCostUsd: 5, maxWallMs: 280_000 };
const TASK: AgentTask = { kind: 'local', text: 'Fix the failing tests of this repository.' };

function git(dir: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'safe.directory=*', '-c', 'user.name=t', '-c', 'user.email=t@t', ...args],
    { cwd: dir, encoding: 'utf8' },
  );
}

/** The reviewer through the real loop and SDK against the model twin (it needs no sandbox). */
describe('self-review before delivery', { timeout: 300_000 }, () => {
  let twin: ModelTwin;
  let dir: string;
  const log = createSilentLogger();

  beforeAll(async () => {
    twin = await startModelTwin({ scenario: harnessToolsScenario });
  });
  afterAll(async () => {
    await twin.close();
  });
  beforeEach(async () => {
    twin.reset();
    dir = await mkdtemp(join(tmpdir(), 'pw-review-'));
    await writeFixFailingTestRepo(dir);
    git(dir, 'init', '-q', '.');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'base');
    return async () => {
      await rm(dir, { recursive: true, force: true });
    };
  });

  const model = () => twinRunOptions(twin, dir, 'harness-tools').model;
  const reviewer = (input: SelfReviewInput) =>
    runSelfReview({ model: model(), secrets: [twin.apiKey] }, input);
  function verify(): VerifyOutcome[] {
    try {
      const out = execFileSync('bash', ['-c', 'npm test 2>&1'], { cwd: dir, encoding: 'utf8' });
      return [{ command: 'npm test', exitCode: 0, ok: true, outputTail: out.slice(-2000) }];
    } catch (err) {
      const e = err as { status: number; stdout: string };
      return [
        { command: 'npm test', exitCode: e.status, ok: false, outputTail: String(e.stdout).slice(-2000) },
      ];
    }
  }
  async function fixOnlyAdd(): Promise<void> {
    const p = join(dir, 'src/math.js');
    await writeFile(p, (await readFile(p, 'utf8')).replace('return a - b;', 'return a + b;'));
  }
  const firstRun = (costUsd = 0.1): AgentResult => ({
    outcome: 'succeeded',
    summary: 'Fixed add.',
    usage: { input: 100, output: 10, cacheRead: 0, cacheWrite: 0, costUsd },
    turns: 6,
    durationMs: 1000,
    plan: [],
  });

  it('approves a change without a real problem, sees only the task, the diff and verify, and counts its cost', async () => {
    const p = join(dir, 'src/math.js');
    await writeFile(
      p,
      (await readFile(p, 'utf8'))
        .replace('return a - b;', 'return a + b;')
        .replace('(values.length - 1)', 'values.length'),
    );
    const review = await reviewer({
      task: TASK,
      patch: git(dir, 'diff'),
      verify: verify(),
      budgets: { maxTurns: 3, maxCostUsd: 0.5, maxWallMs: 60_000 },
      signal: new AbortController().signal,
      log,
      transcriptPath: join(dir, '.t', 'review.jsonl'),
    });
    expect(review.verdict).toBe('approve');
    expect(review.turns).toBe(1);
    expect(review.costUsd).toBeGreaterThan(0);
    const req = twin.requests[0]?.body as {
      system: { text: string }[];
      messages: { content: { text: string }[] }[];
      tools: { name: string }[];
    };
    expect(req.system[0]?.text).toContain(REVIEWER_MARKER);
    expect(req.tools.map((t) => t.name)).toEqual(['submit_review']);
    expect(req.messages).toHaveLength(1);
    const message = req.messages[0]?.content[0]?.text ?? '';
    expect(message).toContain('<untrusted-data source="diff">');
    expect(message).toContain('`npm test`: passed');
  });

  it('a real problem gets one bounded round; the verdict, the round and every cost are reported', async () => {
    await fixOnlyAdd();
    const events: HarnessEvent[] = [];
    const rounds: { task: AgentTask; limits: Budgets }[] = [];
    const base = twinRunOptions(twin, dir, 'harness-tools');
    const out = await reviewBeforeDelivery({
      enabled: true,
      review: reviewer,
      task: TASK,
      change: { agent: firstRun(), patch: { patch: git(dir, 'diff') }, verify: verify(), blockedHosts: [] },
      limits: LIMITS,
      signal: new AbortController().signal,
      log,
      transcriptPath: join(dir, '.t', 'run.jsonl'),
      onEvent: (e) => events.push(e),
      async address(task, limits, transcriptPath) {
        rounds.push({ task, limits });
        // The session's part: one more agent run on the same working copy, then extract and verify.
        const { renderTask } = await import('../../../worker/agent/context/render-task.js');
        const agent = await runAgent({
          ...base,
          sandbox: createLocalSandbox(dir),
          firstUserMessage: renderTask(task),
          task,
          budgets: limits,
          transcriptPath,
        });
        return { agent, patch: { patch: git(dir, 'diff') }, verify: verify(), blockedHosts: [] };
      },
    });
    expect(out.review?.verdict).toBe('changes-requested');
    expect(out.review?.addressed).toBe(true);
    expect(out.review?.findings[0]).toMatchObject({ severity: 'blocker', path: 'src/math.js' });
    expect(rounds).toHaveLength(1);
    // Bounded: the round gets what the run has left, never more.
    expect(rounds[0]?.limits.maxTurns).toBeLessThanOrEqual(20);
    expect(rounds[0]?.limits.maxCostUsd).toBeLessThan(LIMITS.maxCostUsd - 0.1);
    // The round fixed what the reviewer found, and verify ran again on the new change.
    expect(out.verify[0]?.ok).toBe(true);
    expect(out.patch.patch).toContain('+  return total / values.length;');
    expect(out.agent.summary).toContain('Addressed the review');
    // Every cost counts: first run + review + round.
    const reviewCost = out.review?.costUsd ?? 0;
    expect(reviewCost).toBeGreaterThan(0);
    expect(out.agent.usage.costUsd).toBeGreaterThan(0.1 + reviewCost);
    expect(out.agent.turns).toBeGreaterThan(6);
    expect(events).toEqual([
      expect.objectContaining({ type: 'review', verdict: 'changes-requested', addressed: true }),
    ]);
    expect(renderReviewSection(out.review)).toMatch(
      /^### Self-review: Changes requested, then addressed in one more round/,
    );
  });

  it('is skipped when turned off, for no change or a failed run, and when the budget is spent', async () => {
    await fixOnlyAdd();
    const change = {
      agent: firstRun(),
      patch: { patch: git(dir, 'diff') },
      verify: verify(),
      blockedHosts: [],
    };
    const never = async () => {
      throw new Error('must not run');
    };
    const common = {
      task: TASK,
      limits: LIMITS,
      signal: new AbortController().signal,
      log,
      transcriptPath: join(dir, 'r.jsonl'),
      address: never,
    };
    expect(
      (await reviewBeforeDelivery({ ...common, enabled: false, review: never, change })).review,
    ).toBeNull();
    expect(
      (
        await reviewBeforeDelivery({
          ...common,
          enabled: true,
          review: never,
          change: { ...change, patch: { patch: '' } },
        })
      ).review,
    ).toBeNull();
    expect(
      (
        await reviewBeforeDelivery({
          ...common,
          enabled: true,
          review: never,
          change: { ...change, agent: { ...firstRun(), outcome: 'limit' } },
        })
      ).review,
    ).toBeNull();
    const spent = await reviewBeforeDelivery({
      ...common,
      enabled: true,
      review: never,
      change: { ...change, agent: firstRun(4.99) },
    });
    expect(spent.review?.verdict).toBe('skipped');
    expect(twin.requests).toHaveLength(0);
  });
});
