import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, parseConfig } from '../../src/config/env.js';
import { PullwrightError, toPullwrightError } from '../../src/errors.js';
import { createSilentLogger, type Logger, redactText } from '../../src/logger.js';
import { getEffectiveRepoConfig } from '../../src/repo-config/effective-repo-config.js';
import { parseRepoConfig, REPO_CONFIG_PATH } from '../../src/repo-config/repo-config.js';
import { loadAgentHarness } from '../agent/tools/create-run-tools.js';
import { createModelFromConfig } from '../model/create-model.js';
import type { Model } from '../model/model.js';
import { DockerSandboxProvider } from '../sandbox/docker-sandbox-provider.js';
import { checkSandboxReadiness } from '../sandbox/sandbox-readiness.js';
import { createAgentRunner } from '../session/agent-runner.js';
import { createFreshCopier } from '../session/fresh-copy.js';
import { type AgentSessionResult, runAgentSession, type SessionEvent } from '../session/run-agent-session.js';
import { gitText, runGit } from '../workspace/git.js';
import { extractPatch } from '../workspace/patch.js';
import type { RepoCache } from '../workspace/repo-cache.js';
import { createWorkingCopy } from '../workspace/working-copy.js';
import { inspectRepo, type LocalRepo } from './inspect-repo.js';
import { keepLocalChange } from './keep-local-change.js';
import { type LocalRunResult, toCliOutcome } from './local-run-result.js';

export type { LocalRunResult } from './local-run-result.js';

export interface RunLocalOptions {
  /** Path to a local git repository (any folder inside its work tree). */
  repo: string;
  task: string;
  model?: string;
  maxTurns?: number;
  maxCostUsd?: number;
  maxWallMinutes?: number;
  /** Environment to read the configuration from (default process.env). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  log?: Logger;
  onEvent?: (event: SessionEvent) => void;
  /** Where transcripts go (default `<git common dir>/pullwright/runs`). */
  runsDir?: string;
  /** Tests inject a model; otherwise the Anthropic adapter is built from the config. */
  modelOverride?: Model;
  /** Extra HTTP headers on every model request (e.g. to select a twin scenario). */
  modelHeaders?: Record<string, string>;
  now?: () => Date;
}

export function timestampId(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
}

/** Command-line budgets override the repository's limits (`pullwright run` and `pullwright eval`). */
export function commandLineLimits(
  flags: { maxTurns?: number; maxCostUsd?: number; maxWallMinutes?: number },
  repo: { maxTurns: number; maxCostUsd: number; maxWallMs: number },
): { maxTurns: number; maxCostUsd: number; maxWallMs: number } {
  return {
    maxTurns: flags.maxTurns ?? repo.maxTurns,
    maxCostUsd: flags.maxCostUsd ?? repo.maxCostUsd,
    maxWallMs:
      flags.maxWallMinutes !== undefined ? Math.round(flags.maxWallMinutes * 60_000) : repo.maxWallMs,
  };
}

/** The session of a run cancelled before the agent started (during setup): nothing ran, nothing to keep. */
function cancelledBeforeAgent(): AgentSessionResult {
  return {
    agent: {
      outcome: 'cancelled',
      summary: '',
      usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, costUsd: 0 },
      turns: 0,
      durationMs: 0,
      plan: [],
    },
    setup: null,
    verify: [],
    blockedHosts: [],
    patch: { patch: '', paths: [], stats: { files: 0, additions: 0, deletions: 0, bytes: 0 } },
  };
}

/** A private bare copy of the repository, so the run's helpers never write to the user's. */
export async function cloneToCache(repo: LocalRepo, scratch: string): Promise<RepoCache> {
  const cache: RepoCache = { dir: join(scratch, 'cache.git'), remoteUrl: `file://${repo.top}` };
  await runGit(['clone', '--bare', '--quiet', '--', repo.top, cache.dir]);
  await runGit(['--git-dir', cache.dir, 'fetch', '--quiet', repo.top, repo.head]).catch(() => undefined);
  return cache;
}

/**
 * Runs the harness on a local repository: a credential-free working copy goes
 * through the same agent session as the worker's (setup, agent, verify, patch),
 * then the host keeps the change as a new branch of the user's repository. The
 * user's checkout, index and working tree are never touched, and no sandbox
 * mounts the user's repository itself (an agent could rewrite its hooks or config
 * and run code on the user's next git command).
 */
export async function runLocal(options: RunLocalOptions): Promise<LocalRunResult> {
  const started = Date.now();
  const log = options.log ?? createSilentLogger();
  const signal = options.signal ?? new AbortController().signal;
  const notes: string[] = [];
  const config: Config = parseConfig('cli', options.env ?? process.env);
  if (!options.modelOverride && !config.ANTHROPIC_API_KEY)
    throw new PullwrightError(
      'config_invalid',
      'ANTHROPIC_API_KEY is not set. Export it (and ANTHROPIC_BASE_URL for a gateway or a local twin).',
    );
  const repo = await inspectRepo(options.repo);
  if (repo.dirty)
    notes.push('The repository has uncommitted changes; the agent worked from the last commit (HEAD) only.');
  await checkSandboxReadiness({ image: config.SANDBOX_IMAGE, log });

  const now = options.now ?? (() => new Date());
  const runId = `${timestampId(now())}-${randomBytes(3).toString('hex')}`;
  const runsDir = options.runsDir ?? join(repo.commonDir, 'pullwright', 'runs');
  await mkdir(join(runsDir, runId), { recursive: true });
  const transcriptPath = join(runsDir, runId, 'transcript.jsonl');
  const scratch = await mkdtemp(join(tmpdir(), 'pullwright-run-'));
  const secrets = [config.ANTHROPIC_API_KEY].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  try {
    const cache = await cloneToCache(repo, scratch);
    const configText = await gitText([
      '--git-dir',
      cache.dir,
      'show',
      `${repo.head}:${REPO_CONFIG_PATH}`,
    ]).catch(() => null);
    // The same operator caps as the workers (MAX_NETWORK, ALLOW_WORKFLOW_EDITS, budgets) apply.
    const repoConfig = getEffectiveRepoConfig(parseRepoConfig(configText), config);
    for (const p of repoConfig.problems) notes.push(`${REPO_CONFIG_PATH}: ${p}`);
    const work = await createWorkingCopy({ cache, ref: repo.head, dir: join(scratch, 'work') });
    const model =
      options.modelOverride ??
      createModelFromConfig({ ...config, PULLWRIGHT_MODEL: options.model ?? config.PULLWRIGHT_MODEL }, log, {
        defaultHeaders: options.modelHeaders,
      });

    const harness = await loadAgentHarness(config);
    let session: AgentSessionResult;
    try {
      session = await runAgentSession(
        {
          sandboxes: new DockerSandboxProvider({ workerHostId: `cli-${hostname()}-${process.pid}`, log }),
          image: config.SANDBOX_IMAGE,
          // The operator's harness (tool policy, MCP servers, subagent shell), as the workers load it.
          agent: createAgentRunner({ model, secrets, harness }),
          operatorPolicy: harness.policy,
        },
        {
          workspace: {
            workDir: work.dir,
            baseSha: work.baseSha,
            extractPatch: () => extractPatch({ workDir: work.dir, baseSha: work.baseSha, cache }),
            // Verify gets a new copy of the base plus the patch, never the agent's tree (issue 14 item 6).
            freshCopy: createFreshCopier({ cache, baseSha: work.baseSha, parentDir: scratch }),
          },
          task: { kind: 'local', text: options.task },
          repoConfig,
          limits: commandLineLimits(options, repoConfig.limits),
          labels: { 'dev.pullwright.cli-run': runId },
          signal,
          log,
          transcriptPath,
          secrets,
          onEvent: options.onEvent,
        },
      );
    } catch (err) {
      // Cancelled between steps (during setup, or before the agent started): an outcome, not a failure.
      if (toPullwrightError(err).code !== 'cancelled' || !signal.aborted) throw err;
      session = cancelledBeforeAgent();
    }
    const { agent } = session;
    const outcome = toCliOutcome(agent.outcome);
    if (session.setup && !session.setup.ok)
      notes.push(
        `The setup command exited with ${session.setup.exitCode ?? 'a kill'}; the agent ran anyway.`,
      );
    if (agent.needsInput)
      notes.push(
        `The agent stopped to ask: ${redactText(agent.needsInput.question, secrets)} Run again with the answer in the task.`,
      );
    const failed = session.verify.filter((v) => !v.ok).map((v) => v.command);
    if (failed.length > 0) notes.push(`Verification failed: ${failed.join(', ')}.`);

    let kept: { branch: string | null; commit: string | null } = { branch: null, commit: null };
    const patch = session.patch;
    // A change that cannot be kept is reported with the run, not thrown: the
    // usage, summary and transcript of a finished run are still worth returning.
    if ((outcome === 'completed' || outcome === 'limit') && patch.patch.trim() !== '') {
      try {
        const change = await keepLocalChange({
          repo,
          cache,
          patch: patch.patch,
          task: options.task,
          summary: agent.summary,
          protectedPaths: repoConfig.protectedPaths,
          allowProtectedPaths: repoConfig.allowProtectedPaths,
          scratch,
          stamp: timestampId(now()),
        });
        if ('refused' in change) notes.push(`The change was not kept: ${change.refused}`);
        else kept = change;
      } catch (err) {
        const e = toPullwrightError(err);
        log.warn({ code: e.code }, 'Local delivery failed');
        notes.push(`The change could not be kept (${e.code}): ${redactText(e.message, secrets)}`);
      }
    }
    const changed = outcome === 'completed' || outcome === 'limit';
    return {
      outcome,
      summary: redactText(agent.summary, secrets),
      ...kept,
      baseSha: repo.head,
      filesChanged: changed ? patch.paths : [],
      stats: changed
        ? { files: patch.stats.files, additions: patch.stats.additions, deletions: patch.stats.deletions }
        : { files: 0, additions: 0, deletions: 0 },
      usage: {
        inputTokens: agent.usage.input,
        outputTokens: agent.usage.output,
        cacheReadTokens: agent.usage.cacheRead,
        cacheWriteTokens: agent.usage.cacheWrite,
        costUsd: agent.usage.costUsd,
      },
      turns: agent.turns,
      durationMs: Date.now() - started,
      plan: agent.plan,
      transcriptPath,
      verify: session.verify.map((v) => ({
        command: v.command,
        exitCode: v.exitCode,
        ok: v.ok,
        timedOut: v.timedOut,
      })),
      blockedHosts: session.blockedHosts,
      ...(agent.limit ? { limit: agent.limit } : {}),
      ...(agent.error
        ? { error: { code: agent.error.code, message: redactText(agent.error.message, secrets) } }
        : {}),
      notes,
    };
  } catch (err) {
    throw toPullwrightError(err);
  } finally {
    // Every container is disposed inside the session; the scratch folders are ours.
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
}
