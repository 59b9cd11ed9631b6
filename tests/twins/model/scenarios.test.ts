import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  extractTaskTitle,
  type ModelTwin,
  ONE_PROCESS_TESTS,
  startModelTwin,
  testOutcome,
  writeFixFailingTestRepo,
  writeLongTrajectoryRepo,
} from './index.js';
import { runAgentLoop } from './testing/agent-loop.js';

let twin: ModelTwin;
let client: Anthropic;
let dir: string;

beforeAll(async () => {
  // The scenarios run the fixture's test files in one node process (the tests `npm test` runs, without
  // npm's start-up and node --test's process per file); the first test below checks that this reads
  // the same as `npm test` and `node --test` themselves.
  twin = await startModelTwin({ testCommand: ONE_PROCESS_TESTS });
  client = new Anthropic({ baseURL: twin.url, apiKey: twin.apiKey, maxRetries: 0 });
});
afterAll(async () => {
  await twin.close();
});
beforeEach(async () => {
  twin.reset();
  dir = await mkdtemp(join(tmpdir(), 'pw-model-twin-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Runs the fixture's tests in a bare environment: `npm test`, `node --test` (the script it runs), or
 * the same test files in one node process (ONE_PROCESS_TESTS, what the scenarios run).
 */
function runTests(cwd: string, command: 'npm' | 'node' | 'one' = 'one'): string {
  const out = spawnSync(
    'sh',
    ['-c', { npm: 'npm test', node: 'node --test', one: ONE_PROCESS_TESTS }[command]],
    {
      cwd,
      encoding: 'utf8',
      // npm would otherwise fetch its registry entry to look for a newer npm.
      env: { PATH: process.env.PATH ?? '', npm_config_update_notifier: 'false' },
    },
  );
  return `${out.stdout}${out.stderr}\nexit code: ${out.status}`;
}

const header = (name: string) => ({ 'x-twin-scenario': name });

// Each run spawns real `npm test` processes; the machine is shared, so timeouts are generous.
describe('model twin scenarios run to completion against a tool runner', { timeout: 180_000 }, () => {
  it('the sample repo fails its tests before any scenario runs, read the same through every test command', async () => {
    await writeFixFailingTestRepo(dir);
    const reports: string[] = [];
    for (const command of ['npm', 'node', 'one'] as const) {
      const output = runTests(dir, command);
      expect(testOutcome(output)).toBe('fail');
      expect(output).toContain('not ok');
      expect(output).toMatch(/exit code: 1$/);
      // The same tests with the same results (durations and locations aside).
      reports.push(
        output
          .split('\n')
          .filter((l) => /^(?:not )?ok \d+ - |^# (?:tests|pass|fail) /.test(l))
          .join('\n'),
      );
    }
    expect(reports[0]).toContain('not ok 1 - add sums two numbers');
    expect(reports[0]).toContain('# fail 2');
    expect(reports[1]).toBe(reports[0]);
    expect(reports[2]).toBe(reports[0]);
  });

  it('fix-failing-test: runs the tests, fixes both bugs one at a time, re-runs, completes the plan, finishes', async () => {
    await writeFixFailingTestRepo(dir);
    const run = await runAgentLoop(client, dir, {
      task: 'The tests fail. Make them pass.',
      maxTurns: 20,
      stream: true,
      headers: header('fix-failing-test'),
    });
    expect(run.finished).toMatch(/^Fixed 2 bug\(s\) in src\/math\.js/);
    expect(testOutcome(runTests(dir))).toBe('pass');
    const testRuns = run.runner.calls.filter((c) => c.name === 'bash');
    expect(testRuns.map((c) => testOutcome(c.result.content))).toEqual(['fail', 'fail', 'pass']);
    expect(testRuns.every((c) => (c.input as { command: string }).command === ONE_PROCESS_TESTS)).toBe(true);
    expect(run.runner.plans.at(-1)?.every((i) => i.status === 'completed')).toBe(true);
    // The first turn carried text and two tool calls at once.
    expect(run.responses[0]?.content.map((b) => b.type)).toEqual(['text', 'tool_use', 'tool_use']);
    expect(twin.requests.every((r) => r.scenario === 'fix-failing-test' && r.status === 200)).toBe(true);
  });

  it('fix-failing-test adapts when an edit fails: it views the file again and retries', async () => {
    await writeFixFailingTestRepo(dir);
    const seen: string[] = [];
    let failedOnce = false;
    const run = await runAgentLoop(client, dir, {
      task: 'Fix the tests.',
      maxTurns: 25,
      headers: header('fix-failing-test'),
      // The first str_replace "fails" without touching the file.
      intercept: (name, input) => {
        const command = (input as { command?: string }).command ?? '';
        seen.push(`${name}:${command}`);
        if (name === 'str_replace_based_edit_tool' && command === 'str_replace' && !failedOnce) {
          failedOnce = true;
          return { content: 'Error: the file changed on disk; view it again.', isError: true };
        }
        return undefined;
      },
    });
    expect(run.finished).toMatch(/^Fixed 2 bug/);
    const firstEdit = seen.indexOf('str_replace_based_edit_tool:str_replace');
    expect(seen.slice(firstEdit, firstEdit + 3)).toEqual([
      'str_replace_based_edit_tool:str_replace',
      'str_replace_based_edit_tool:view',
      'str_replace_based_edit_tool:str_replace',
    ]);
    expect(testOutcome(runTests(dir))).toBe('pass');
  });

  it('multi-file: creates one file and edits two, then verifies', async () => {
    await writeFixFailingTestRepo(dir);
    const run = await runAgentLoop(client, dir, {
      task: 'Add a formatNumber helper.',
      maxTurns: 20,
      headers: header('multi-file'),
    });
    expect(run.finished).toMatch(/^Added src\/format\.js/);
    const out = spawnSync('node', ['-e', "console.log(require('./src/index.js').formatNumber(2.5, 1))"], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(out.stdout.trim()).toBe('2.5');
    expect(await readFile(join(dir, 'README.md'), 'utf8')).toContain('`formatNumber(value, digits)`');
    const edits = run.runner.calls.filter(
      (c) => c.name === 'str_replace_based_edit_tool' && (c.input as { command: string }).command !== 'view',
    );
    expect(new Set(edits.map((c) => (c.input as { path: string }).path))).toEqual(
      new Set(['src/format.js', 'src/index.js', 'README.md']),
    );
  });

  it('multi-file: falls back to an insert when the file does not look as expected', async () => {
    await writeFixFailingTestRepo(dir);
    await writeFile(
      join(dir, 'src/index.js'),
      "'use strict';\n\nconst math = require('./math.js');\nmodule.exports = math;\n",
    );
    const run = await runAgentLoop(client, dir, {
      task: 'Add a formatNumber helper.',
      maxTurns: 20,
      headers: header('multi-file'),
    });
    expect(run.finished).toMatch(/^Added src\/format\.js/);
    const indexEdits = run.runner.calls.filter(
      (c) =>
        c.name === 'str_replace_based_edit_tool' &&
        (c.input as { path?: string; command: string }).path === 'src/index.js',
    );
    expect(indexEdits.map((c) => (c.input as { command: string }).command)).toEqual(['view', 'insert']);
    const out = spawnSync(
      'node',
      ['-e', "const m = require('./src/index.js'); console.log(m.formatNumber(1, 2), m.add(1, 1))"],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    expect(out.stdout.trim()).toBe('1.00 0');
  });

  it('malformed-tool-input: sends invalid input, reads the errors, corrects itself', async () => {
    await writeFixFailingTestRepo(dir);
    const run = await runAgentLoop(client, dir, {
      task: 'Check the repo.',
      maxTurns: 10,
      headers: header('malformed-tool-input'),
    });
    expect(run.finished).toBe(
      'Both malformed calls were reported as tool errors; the corrected calls succeeded.',
    );
    expect(run.runner.calls.map((c) => c.result.isError)).toEqual([true, false, true, false, false]);
  });

  it('malformed-tool-input: says so when a harness accepts invalid input', async () => {
    await writeFixFailingTestRepo(dir);
    const run = await runAgentLoop(client, dir, {
      task: 'Check the repo.',
      maxTurns: 10,
      headers: header('malformed-tool-input'),
      intercept: (_name, _input, call) => (call === 1 ? { content: 'ok', isError: false } : undefined),
    });
    expect(run.finished).toMatch(/^WARNING: a malformed call was not reported as an error/);
  });

  it('never-stops: keeps calling tools until the budget ends it', async () => {
    await writeFixFailingTestRepo(dir);
    const run = await runAgentLoop(client, dir, {
      task: 'Work.',
      maxTurns: 12,
      headers: header('never-stops'),
    });
    expect(run.finished).toBeNull();
    expect(run.turns).toBe(12);
    expect(run.responses.every((r) => r.stop_reason === 'tool_use')).toBe(true);
  });

  it('implement-issue: reads the task title, makes the tests pass and records the change', async () => {
    await writeFixFailingTestRepo(dir);
    const task = [
      'You are working on issue #7 of acme/twin-sample.',
      '',
      'Title: Math helpers return wrong results',
      '',
      'add(2, 3) returns -1 and average([2, 4, 6]) is 6.',
    ].join('\n');
    const run = await runAgentLoop(client, dir, { task, maxTurns: 25, headers: header('implement-issue') });
    expect(run.finished).toBe(
      'Math helpers return wrong results: fixed 2 bug(s) in src/math.js, all tests pass, and CHANGELOG.md lists the change.',
    );
    expect(testOutcome(runTests(dir))).toBe('pass');
    expect(await readFile(join(dir, 'CHANGELOG.md'), 'utf8')).toContain(
      '## Unreleased\n\n- Math helpers return wrong results\n',
    );
    expect(run.runner.calls[0]?.name).toBe('update_plan');
    expect(run.runner.calls[1]?.name).toBe('list_files');
  });

  it('implement-issue: flattens hostile title text before quoting it', () => {
    expect(extractTaskTitle('# Fix `rm -rf /` <script>alert(1)</script>\nbody')).toBe(
      'Fix rm -rf / script alert(1) /script',
    );
    expect(extractTaskTitle('\n\nJust a line\nmore')).toBe('Just a line');
    expect(extractTaskTitle('# Task\n\nIssue #12: Average is off by one\n\nDetails')).toBe(
      'Average is off by one',
    );
    expect(extractTaskTitle('x'.repeat(200))).toHaveLength(80);
  });

  it('long-trajectory: about 40 turns with large outputs, ending with passing tests', async () => {
    await writeLongTrajectoryRepo(dir);
    const run = await runAgentLoop(client, dir, {
      task: 'Get familiar with this repository and fix whatever is broken.',
      maxTurns: 60,
      cache: true,
      headers: header('long-trajectory'),
    });
    expect(run.finished).toBe('Explored the repository, fixed 2 bug(s), wrote docs/NOTES.md; tests pass.');
    expect(run.turns).toBeGreaterThanOrEqual(35);
    expect(run.turns).toBeLessThanOrEqual(45);
    const big = run.runner.calls.filter((c) => c.result.content.length >= 20_000);
    expect(big.length).toBeGreaterThanOrEqual(3);
    // With a rolling breakpoint, once the prompt reaches the minimum cacheable length every
    // later turn reads the conversation so far from cache; before that nothing is cached.
    const firstWrite = twin.requests.findIndex((r) => (r.usage?.cache_creation_input_tokens ?? 0) > 0);
    expect(firstWrite).toBeGreaterThanOrEqual(0);
    for (const r of twin.requests.slice(0, firstWrite)) expect(r.cache!.totalInputTokens).toBeLessThan(1024);
    for (const r of twin.requests.slice(firstWrite + 1))
      expect(r.usage!.cache_read_input_tokens).toBeGreaterThan(0);
    expect(twin.usage.cacheReadInputTokens).toBeGreaterThan(twin.usage.inputTokens);
  }, 300_000);
});
