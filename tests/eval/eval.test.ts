import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combineWithTests, diffCommits } from '../../worker/eval/combine-patch.js';
import type { EvalReport } from '../../worker/eval/eval-report.js';
import { findEvalTasks, isTestPath } from '../../worker/eval/find-eval-tasks.js';
import { runEval } from '../../worker/eval/run-eval.js';
import { type EvalRepo, makeEvalRepo, TEXT_FIXED, WITHHELD_MARKERS } from '../fixtures/eval/eval-repo.js';
import { type ModelTwin, startModelTwin } from '../twins/model/index.js';
import { evalFixtureScenario } from './eval-scenario.js';

/**
 * `pullwright eval` end to end: a fixture repository with a history of fixes, the model twin
 * playing the agent, real Docker sandboxes and real git.
 */

let repo: EvalRepo;
let twin: ModelTwin;

beforeAll(async () => {
  repo = await makeEvalRepo();
  twin = await startModelTwin({ scenario: evalFixtureScenario });
});
afterAll(async () => {
  await twin?.close();
  if (repo) await rm(repo.dir, { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => ({
  ANTHROPIC_API_KEY: twin.apiKey,
  ANTHROPIC_BASE_URL: twin.url,
  PULLWRIGHT_MODEL: 'claude-sonnet-5-5',
  LOG_LEVEL: 'silent',
});

describe('picking tasks from history', () => {
  it('keeps commits and merges that change code and tests, newest first, with the commit message as the task', async () => {
    const gitDir = join(repo.dir, '.git');
    const head = execFileSync('git', ['-C', repo.dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const tasks = await findEvalTasks(gitDir, { head, limit: 10 });
    expect(tasks.map((t) => t.sha)).toEqual([
      repo.fixes.invalid,
      repo.fixes.clamp,
      repo.fixes.pad,
      repo.fixes.slugify,
    ]);
    const pad = tasks.find((t) => t.sha === repo.fixes.pad)!;
    expect(pad.kind).toBe('merge');
    expect(pad.subject).toBe('padLeft throws a RangeError on strings longer than the width');
    expect(pad.testPaths).toEqual(['tests/pad.test.js']);
    expect(pad.codePaths).toEqual(['src/pad.js']);
    const slug = tasks.find((t) => t.sha === repo.fixes.slugify)!;
    expect(slug.text).toBe(
      "Fix slugify leaving dashes at the ends\n\nslugify(' Hello World! ') returned '-hello-world-'. Trim the dashes.",
    );
    expect(await findEvalTasks(gitDir, { head, limit: 2 })).toHaveLength(2);
  });

  it('recognises test files of common languages', () => {
    for (const p of [
      'tests/a.js',
      'src/__tests__/x.ts',
      'a.test.ts',
      'pkg/x_test.go',
      'test_x.py',
      'spec/models/user_spec.rb',
      'FooTest.java',
    ])
      expect(isTestPath(p), p).toBe(true);
    for (const p of ['src/a.js', 'src/testing.js', 'lib/contest.py', 'README.md'])
      expect(isTestPath(p), p).toBe(false);
  });

  it("lays the fix's test files over the agent's change, whatever the agent did to them", async () => {
    const gitDir = join(repo.dir, '.git');
    const parent = `${repo.fixes.slugify}~1`;
    const parentSha = execFileSync('git', ['-C', repo.dir, 'rev-parse', parent], { encoding: 'utf8' }).trim();
    // An agent change that fixes the code and also rewrites the test file the fix changes.
    const agentPatch = (await diffCommits(gitDir, parentSha, repo.fixes.slugify)).replace(
      `+test('${WITHHELD_MARKERS.slugify}'`,
      "+test('agent wrote this'",
    );
    expect(agentPatch).toContain('agent wrote this');
    const combined = await combineWithTests({
      gitDir,
      parentSha,
      fixSha: repo.fixes.slugify,
      agentPatch,
      testPaths: ['tests/text.test.js'],
    });
    expect(combined).toContain(WITHHELD_MARKERS.slugify);
    expect(combined).not.toContain('agent wrote this');
    expect(combined).toContain(TEXT_FIXED.split('\n')[1]);
  });
});

describe('pullwright eval on the model twin', () => {
  let report: EvalReport;
  const reportPath = () => join(repo.dir, 'eval-report.json');

  beforeAll(async () => {
    report = await runEval({ repo: repo.dir, limit: 4, env: env(), maxTurns: 10, reportPath: reportPath() });
  }, 600_000);

  it('solves the tasks the agent fixes, not the one it gets wrong, and skips an invalid one', () => {
    const byId = Object.fromEntries(report.tasks.map((t) => [t.sha, t]));
    expect(byId[repo.fixes.slugify]?.status, JSON.stringify(byId[repo.fixes.slugify])).toBe('solved');
    expect(byId[repo.fixes.pad]?.status, JSON.stringify(byId[repo.fixes.pad])).toBe('solved');
    expect(byId[repo.fixes.clamp]?.status, JSON.stringify(byId[repo.fixes.clamp])).toBe('unsolved');
    expect(byId[repo.fixes.clamp]?.tests.some((t) => !t.ok)).toBe(true);
    expect(byId[repo.fixes.invalid]?.status).toBe('invalid');
    expect(byId[repo.fixes.invalid]?.reason).toMatch(/already pass without the fix/);
    expect(byId[repo.fixes.invalid]?.turns).toBe(0); // no model spend on an invalid task
    expect(report.totals).toMatchObject({ evaluated: 3, solved: 2, unsolved: 1, invalid: 1, errors: 0 });
    expect(report.totals.solveRate).toBeCloseTo(2 / 3);
  });

  it('reports turns, tokens, cost and time per task and in total, and writes the JSON report', async () => {
    const solved = report.tasks.filter((t) => t.status === 'solved');
    for (const t of solved) {
      expect(t.turns).toBe(3);
      expect(t.tokens.input + t.tokens.cacheRead + t.tokens.cacheWrite).toBeGreaterThan(0);
      expect(t.tokens.output).toBeGreaterThan(0);
      expect(t.costUsd).toBeGreaterThan(0);
      expect(t.durationMs).toBeGreaterThanOrEqual(t.agentDurationMs);
      expect(t.agentDurationMs).toBeGreaterThan(0);
    }
    const sum = report.tasks.reduce((n, t) => n + t.turns, 0);
    expect(report.totals.turns).toBe(sum);
    expect(report.totals.costUsd).toBeCloseTo(report.tasks.reduce((n, t) => n + t.costUsd, 0));
    expect(report.testCommands).toEqual(['node --test tests/']);
    const written = JSON.parse(await readFile(reportPath(), 'utf8')) as EvalReport;
    expect(written.totals).toEqual(report.totals);
  });

  it("never shows the agent (or its reviewer) a task's withheld test changes", () => {
    // Later tasks legitimately see earlier fixes' tests (they are in their parent's tree), so each
    // task's requests are checked for that task's own withheld test only.
    const cases = [
      { subject: 'Fix slugify leaving dashes at the ends', marker: WITHHELD_MARKERS.slugify },
      { subject: 'padLeft throws a RangeError', marker: WITHHELD_MARKERS.pad },
      { subject: 'Fix clamp when the bounds are swapped', marker: WITHHELD_MARKERS.clamp },
    ];
    for (const { subject, marker } of cases) {
      const taskFence = JSON.stringify(`source="local task">\n${subject}`).slice(1, -1);
      const bodies = twin.requests.map((r) => JSON.stringify(r.body)).filter((b) => b.includes(taskFence));
      expect(bodies.length, subject).toBeGreaterThanOrEqual(3);
      for (const b of bodies) expect(b, subject).not.toContain(marker);
    }
  });

  it("leaves the user's checkout and branches as they were, and no container behind", () => {
    expect(execFileSync('git', ['-C', repo.dir, 'status', '--porcelain'], { encoding: 'utf8' })).toBe(
      '?? eval-report.json\n',
    );
    expect(
      execFileSync('git', ['-C', repo.dir, 'branch', '--format=%(refname:short)'], {
        encoding: 'utf8',
      }).trim(),
    ).toBe('main');
    const left = spawnSync('docker', ['ps', '-aq', '--filter', 'label=dev.pullwright.cli-run'], {
      encoding: 'utf8',
    });
    const ours = left.stdout.split('\n').filter(Boolean);
    // Other suites may run their own CLI containers; ours carry the eval run id.
    const evalLeft = ours.filter((id) =>
      spawnSync('docker', ['inspect', '-f', '{{index .Config.Labels "dev.pullwright.cli-run"}}', id], {
        encoding: 'utf8',
      }).stdout.includes('-eval-'),
    );
    expect(evalLeft).toEqual([]);
  });
});
