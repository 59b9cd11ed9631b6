import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Config, parseConfig } from '../../src/config/env.js';
import { PullwrightError, toPullwrightError } from '../../src/errors.js';
import { createTokenReader } from '../../src/github/token-reader.js';
import { createSilentLogger, type Logger, redactText } from '../../src/logger.js';
import {
  type EffectiveRepoConfig,
  getEffectiveRepoConfig,
} from '../../src/repo-config/effective-repo-config.js';
import { parseRepoConfig, REPO_CONFIG_PATH } from '../../src/repo-config/repo-config.js';
import { type AgentHarness, loadAgentHarness } from '../agent/tools/create-run-tools.js';
import { inspectRepo } from '../cli/inspect-repo.js';
import { cloneToCache, commandLineLimits, timestampId } from '../cli/run-local.js';
import { createModelFromConfig } from '../model/create-model.js';
import type { Model } from '../model/model.js';
import { DockerSandboxProvider } from '../sandbox/docker-sandbox-provider.js';
import { checkSandboxReadiness } from '../sandbox/sandbox-readiness.js';
import { createAgentRunner } from '../session/agent-runner.js';
import { createFreshCopier } from '../session/fresh-copy.js';
import { runAgentSession, type SessionEvent } from '../session/run-agent-session.js';
import type { CommandResult } from '../session/run-command.js';
import { verifyInFreshCopy } from '../session/verify-in-fresh-copy.js';
import { gitText } from '../workspace/git.js';
import { extractPatch } from '../workspace/patch.js';
import type { RepoCache } from '../workspace/repo-cache.js';
import { createWorkingCopy } from '../workspace/working-copy.js';
import { combineWithTests, diffCommits } from './combine-patch.js';
import { apiUrlFor, createGitHubTaskDescriber, parseGitHubRemote } from './describe-from-github.js';
import { type EvalReport, type EvalTaskReport, totalsOf } from './eval-report.js';
import { type EvalTask, findEvalTasks } from './find-eval-tasks.js';

export interface RunEvalOptions {
  repo: string;
  /** How many tasks (newest first). */
  limit: number;
  /** The command that runs the tests; default the repository's `verify` commands at each task's parent. */
  testCommand?: string;
  model?: string;
  maxTurns?: number;
  maxCostUsd?: number;
  maxWallMinutes?: number;
  /** Where the JSON report goes; default `<git dir>/pullwright/eval/<timestamp>.json`; null: none. */
  reportPath?: string | null;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  log?: Logger;
  onEvent?: (event: SessionEvent | { type: 'task'; index: number; total: number; task: EvalTask }) => void;
  /** Issue texts for tasks: replaces the commit message as the task (default: from GitHub with `githubToken`). */
  describeTask?: (task: EvalTask) => Promise<EvalTask>;
  /**
   * A GitHub token (read access): with an `origin` on GitHub, a merged pull request's task becomes the
   * issue it closed (or its description). Only the host process uses it; it never enters a sandbox.
   */
  githubToken?: string;
  modelOverride?: Model;
  modelHeaders?: Record<string, string>;
  now?: () => Date;
}

const NO_TOKENS = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };

function testRuns(results: CommandResult[]): EvalTaskReport['tests'] {
  return results.map((r) => ({
    command: r.command,
    exitCode: r.exitCode,
    ok: r.ok,
    timedOut: r.timedOut,
    outputTail: r.outputTail,
  }));
}

/**
 * `pullwright eval`: measures the harness on a repository's own history. For each picked fix: the
 * task is checked first (its tests must fail on the parent and pass with the fix), then the agent
 * runs from the parent through the same session as `pullwright run` and the workers, told only the
 * commit message (or the issue), and its change is judged by the fix's test changes, applied over
 * it in a fresh copy and run in a new sandbox. The agent never sees those test changes.
 */
export async function runEval(options: RunEvalOptions): Promise<EvalReport> {
  const started = Date.now();
  const log = options.log ?? createSilentLogger();
  const signal = options.signal ?? new AbortController().signal;
  const config: Config = parseConfig('cli', options.env ?? process.env);
  if (!options.modelOverride && !config.ANTHROPIC_API_KEY)
    throw new PullwrightError(
      'config_invalid',
      'ANTHROPIC_API_KEY is not set. Export it (and ANTHROPIC_BASE_URL for a gateway or a local twin).',
    );
  const repo = await inspectRepo(options.repo);
  await checkSandboxReadiness({ image: config.SANDBOX_IMAGE, log });
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const githubToken = options.githubToken ?? config.GITHUB_TOKEN;
  const secrets = [config.ANTHROPIC_API_KEY, githubToken].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  const modelName = options.model ?? config.PULLWRIGHT_MODEL;
  const model =
    options.modelOverride ??
    createModelFromConfig({ ...config, PULLWRIGHT_MODEL: modelName }, log, {
      defaultHeaders: options.modelHeaders,
    });
  const harness = await loadAgentHarness(config);
  const sandboxes = new DockerSandboxProvider({ workerHostId: `eval-${hostname()}-${process.pid}`, log });
  const scratch = await mkdtemp(join(tmpdir(), 'pullwright-eval-'));
  const runId = `${timestampId(startedAt)}-eval`;
  const reports: EvalTaskReport[] = [];
  const testCommandsSeen = new Set<string>();
  try {
    const cache = await cloneToCache(repo, scratch);
    let tasks = await findEvalTasks(cache.dir, { head: repo.head, limit: options.limit });
    const describe = options.describeTask ?? (await githubDescriber(repo.top, config, githubToken));
    if (describe) tasks = await Promise.all(tasks.map((t) => describe(t)));
    for (const [index, task] of tasks.entries()) {
      if (signal.aborted) break;
      options.onEvent?.({ type: 'task', index, total: tasks.length, task });
      const report = await evaluateTask({
        task,
        index,
        cache,
        config,
        options,
        model,
        harness,
        sandboxes,
        scratch,
        runId,
        secrets,
        signal,
        log,
      });
      for (const t of report.tests) testCommandsSeen.add(t.command);
      reports.push(report);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
  const reportPath =
    options.reportPath === null
      ? null
      : (options.reportPath ?? join(repo.commonDir, 'pullwright', 'eval', `${timestampId(startedAt)}.json`));
  const report: EvalReport = {
    repo: repo.top,
    head: repo.head,
    model: modelName,
    startedAt: startedAt.toISOString(),
    testCommands: options.testCommand ? [options.testCommand] : [...testCommandsSeen],
    tasks: reports,
    totals: totalsOf(reports, Date.now() - started),
    reportPath,
  };
  if (reportPath) {
    await mkdir(dirname(reportPath), { recursive: true });
    await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  }
  return report;
}

async function githubDescriber(top: string, config: Config, token: string | undefined) {
  if (!token) return null;
  const remote = parseGitHubRemote(await gitText(['-C', top, 'remote', 'get-url', 'origin']).catch(() => ''));
  if (!remote) return null;
  const apiUrl = apiUrlFor(remote.host, { apiUrl: config.GITHUB_API_URL, gitUrl: config.GITHUB_GIT_URL });
  return createGitHubTaskDescriber(createTokenReader({ apiUrl, token }), remote);
}

interface TaskContext {
  task: EvalTask;
  index: number;
  cache: RepoCache;
  config: Config;
  options: RunEvalOptions;
  model: Model;
  harness: AgentHarness;
  sandboxes: DockerSandboxProvider;
  scratch: string;
  runId: string;
  secrets: string[];
  signal: AbortSignal;
  log: Logger;
}

async function repoConfigAt(cache: RepoCache, sha: string, config: Config): Promise<EffectiveRepoConfig> {
  const text = await gitText(['--git-dir', cache.dir, 'show', `${sha}:${REPO_CONFIG_PATH}`]).catch(
    () => null,
  );
  return getEffectiveRepoConfig(parseRepoConfig(text), config);
}

async function evaluateTask(ctx: TaskContext): Promise<EvalTaskReport> {
  const { task, cache, options, signal, secrets, log } = ctx;
  const started = Date.now();
  const dir = join(ctx.scratch, `task-${ctx.index}`);
  await mkdir(dir, { recursive: true });
  const report: EvalTaskReport = {
    sha: task.sha,
    parentSha: task.parentSha,
    kind: task.kind,
    subject: task.subject,
    source: task.source,
    ...(task.issue ? { issue: task.issue } : {}),
    status: 'error',
    agentOutcome: null,
    turns: 0,
    tokens: { ...NO_TOKENS },
    costUsd: 0,
    durationMs: 0,
    agentDurationMs: 0,
    filesChanged: [],
    testPaths: task.testPaths,
    tests: [],
  };
  const finish = (status: EvalTaskReport['status'], reason?: string) => {
    report.status = status;
    if (reason) report.reason = redactText(reason, secrets);
    report.durationMs = Date.now() - started;
    return report;
  };
  try {
    const repoConfig = await repoConfigAt(cache, task.parentSha, ctx.config);
    const testCommands = options.testCommand ? [options.testCommand] : repoConfig.verifyCommands;
    if (testCommands.length === 0)
      return finish(
        'invalid',
        `No test command: pass --test-command or declare verify in ${REPO_CONFIG_PATH}.`,
      );
    const labels = { 'dev.pullwright.cli-run': `${ctx.runId}-${ctx.index}` };
    // One copier per task: each copy gets its own numbered folder, also when checks run at once.
    const freshCopy = createFreshCopier({ cache, baseSha: task.parentSha, parentDir: dir });
    const judge = (patch: string) =>
      verifyInFreshCopy({
        sandboxes: ctx.sandboxes,
        image: ctx.config.SANDBOX_IMAGE,
        labels,
        freshCopy,
        patch,
        setupCommand: repoConfig.setupCommand,
        verifyCommands: testCommands,
        network: repoConfig.network,
        signal,
        secrets,
        log,
      });
    // A usable task: its tests fail without the fix and pass with it (else it measures nothing).
    // Both checks at once: each is its own fresh copy and container.
    const [baseline, gold] = await Promise.all([
      diffCommits(cache.dir, task.parentSha, task.sha, task.testPaths).then(judge),
      diffCommits(cache.dir, task.parentSha, task.sha).then(judge),
    ]);
    if (baseline.verify.every((v) => v.ok))
      return finish('invalid', "The fix's tests already pass without the fix.");
    if (!gold.verify.every((v) => v.ok)) {
      report.tests = testRuns(gold.verify);
      return finish(
        'invalid',
        "The fix's tests fail with the fix itself (flaky, or they need something this sandbox lacks).",
      );
    }

    const work = await createWorkingCopy({ cache, ref: task.parentSha, dir: join(dir, 'work') });
    const session = await runAgentSession(
      {
        sandboxes: ctx.sandboxes,
        image: ctx.config.SANDBOX_IMAGE,
        // The operator's harness (tool policy, MCP, subagents), as `pullwright run` and the workers use it.
        agent: createAgentRunner({ model: ctx.model, secrets, harness: ctx.harness }),
        operatorPolicy: ctx.harness.policy,
      },
      {
        workspace: {
          workDir: work.dir,
          baseSha: work.baseSha,
          extractPatch: () => extractPatch({ workDir: work.dir, baseSha: work.baseSha, cache }),
          freshCopy,
        },
        task: { kind: 'local', text: task.text },
        // The whole repo config, verify included: the agent is told the checks and a reviewer sees
        // their results, exactly as in a real run (the verdict is the judging run below).
        repoConfig,
        limits: commandLineLimits(options, repoConfig.limits),
        labels,
        signal,
        log,
        transcriptPath: join(dir, 'transcript.jsonl'),
        secrets,
        onEvent: options.onEvent,
      },
    );
    const { agent } = session;
    report.agentOutcome = agent.outcome;
    report.turns = agent.turns;
    report.tokens = {
      input: agent.usage.input,
      output: agent.usage.output,
      cacheRead: agent.usage.cacheRead,
      cacheWrite: agent.usage.cacheWrite,
    };
    report.costUsd = agent.usage.costUsd;
    report.agentDurationMs = agent.durationMs;
    report.filesChanged = session.patch.paths;
    if (agent.outcome === 'cancelled') return finish('error', 'Cancelled.');
    // Judged whatever the agent's own verdict: a run that hit a limit may still have fixed it.
    const candidate = await combineWithTests({
      gitDir: cache.dir,
      parentSha: task.parentSha,
      fixSha: task.sha,
      agentPatch: session.patch.patch,
      testPaths: task.testPaths,
    });
    const judged = await judge(candidate);
    report.tests = testRuns(judged.verify);
    const solved = judged.verify.length > 0 && judged.verify.every((v) => v.ok);
    return finish(
      solved ? 'solved' : 'unsolved',
      solved
        ? undefined
        : session.patch.patch.trim() === ''
          ? 'The agent changed nothing.'
          : "The fix's tests fail on the agent's change.",
    );
  } catch (err) {
    const e = toPullwrightError(err);
    log.warn({ code: e.code, sha: task.sha }, 'Evaluation task failed');
    return finish('error', `${e.code}: ${e.message}`);
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
