import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { type Config, parseConfig } from '../../src/config/env.js';
import { PullwrightError, toPullwrightError } from '../../src/errors.js';
import { createSilentLogger, type Logger, redactText } from '../../src/logger.js';
import { getEffectiveRepoConfig } from '../../src/repo-config/effective-repo-config.js';
import { parseRepoConfig, REPO_CONFIG_PATH } from '../../src/repo-config/repo-config.js';
import { buildContext } from '../agent/context/build-context.js';
import { type AgentResult, runAgent } from '../agent/loop/run-agent.js';
import type { AgentEvent, PlanItem } from '../agent/tool.js';
import { createDefaultTools } from '../agent/tools/index.js';
import { findPatchProblems } from '../delivery/patch-safety.js';
import { createModelFromConfig } from '../model/create-model.js';
import type { Model } from '../model/model.js';
import { DockerSandboxProvider } from '../sandbox/docker-sandbox-provider.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { checkSandboxReadiness } from '../sandbox/sandbox-readiness.js';
import { commitChange, createCleanCheckout, type GitIdentity } from '../workspace/deliver.js';
import { gitText, runGit } from '../workspace/git.js';
import { applyPatch, type ExtractedPatch, extractPatch } from '../workspace/patch.js';
import type { RepoCache } from '../workspace/repo-cache.js';
import { createWorkingCopy } from '../workspace/working-copy.js';

/** The stable `--json` shape; documented in worker/cli/README.md. Add fields, never rename. */
export interface LocalRunResult {
  outcome: AgentResult['outcome'];
  summary: string;
  /** The branch left in the user's repository, or null when there was no change to keep. */
  branch: string | null;
  commit: string | null;
  baseSha: string;
  filesChanged: string[];
  stats: { files: number; additions: number; deletions: number };
  usage: {
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cacheWriteTokens: number;
    costUsd: number;
  };
  turns: number;
  durationMs: number;
  plan: PlanItem[];
  transcriptPath: string;
  limit?: string;
  error?: { code: string; message: string };
  /** Things the user should know (uncommitted changes left out, a change not kept and why). */
  notes: string[];
}

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
  onEvent?: (event: AgentEvent) => void;
  /** Where transcripts go (default `<git common dir>/pullwright/runs`). */
  runsDir?: string;
  /** Tests inject a model; otherwise the Anthropic adapter is built from the config. */
  modelOverride?: Model;
  /** Extra HTTP headers on every model request (e.g. to select a twin scenario). */
  modelHeaders?: Record<string, string>;
  now?: () => Date;
}

const AUTHOR: GitIdentity = { name: 'Pullwright', email: 'pullwright@users.noreply.localhost' };

function timestampId(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
}

/** Checks the repository and returns its top level, HEAD and git common dir. */
async function inspectRepo(
  path: string,
): Promise<{ top: string; head: string; commonDir: string; dirty: boolean }> {
  const abs = resolve(path);
  const info = await stat(abs).catch(() => null);
  if (!info?.isDirectory())
    throw new PullwrightError(
      'input_invalid',
      `The repository path ${abs} does not exist or is not a folder.`,
    );
  let top: string;
  try {
    top = await gitText(['-C', abs, 'rev-parse', '--show-toplevel']);
  } catch (err) {
    // git refuses repositories owned by another user (their config could run code); say so plainly.
    if (err instanceof Error && /dubious ownership/.test(err.message))
      throw new PullwrightError(
        'input_invalid',
        `${abs} belongs to another user, so git will not read it for you. Run pullwright as the repository's owner.`,
      );
    throw new PullwrightError('input_invalid', `${abs} is not inside a git repository.`);
  }
  const head = await gitText(['-C', top, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).catch(
    () => '',
  );
  if (!/^[0-9a-f]{40}$/.test(head))
    throw new PullwrightError('input_invalid', `${top} has no commits yet; commit something first.`);
  let commonDir = await gitText(['-C', top, 'rev-parse', '--git-common-dir']);
  if (!isAbsolute(commonDir)) commonDir = resolve(top, commonDir);
  const status = await gitText(['-C', top, 'status', '--porcelain', '--untracked-files=no']).catch(() => '');
  return { top, head, commonDir, dirty: status.trim() !== '' };
}

async function userIdentity(top: string): Promise<GitIdentity | null> {
  const name = await gitText(['-C', top, 'config', 'user.name']).catch(() => '');
  const email = await gitText(['-C', top, 'config', 'user.email']).catch(() => '');
  if (!name || /[<>\n]/.test(name) || !/^[^\s<>@]+@[^\s<>]+$/.test(email)) return null;
  return { name, email };
}

async function freeBranchName(top: string, base: string): Promise<string> {
  for (let i = 1; i < 100; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    const exists = await runGit(['-C', top, 'rev-parse', '--verify', '--quiet', `refs/heads/${name}`], {
      okCodes: [1],
    });
    if (exists.code !== 0) return name;
  }
  throw new PullwrightError('conflict', `Too many branches named ${base}-*.`);
}

function commitMessage(task: string, summary: string): string {
  const first = task.split('\n').find((l) => l.trim() !== '') ?? 'local task';
  const subject = first.trim().replace(/\s+/g, ' ');
  const title = `pullwright: ${subject.length > 60 ? `${subject.slice(0, 57)}...` : subject}`;
  return `${title}\n\n${summary.trim()}\n`;
}

/**
 * Runs the harness on a local repository: a credential-free working copy in a
 * sandbox, the agent loop against the configured model, then the change applied
 * by the host to a clean checkout and fetched into the user's repository as a new
 * branch. The user's checkout, index and working tree are never touched, and the
 * sandbox never mounts the user's repository itself (an agent could rewrite its
 * hooks or config and run code on the user's next git command).
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
  const transcriptDir = join(runsDir, runId);
  await mkdir(transcriptDir, { recursive: true });
  const transcriptPath = join(transcriptDir, 'transcript.jsonl');
  const scratch = await mkdtemp(join(tmpdir(), 'pullwright-run-'));
  const secrets = [config.ANTHROPIC_API_KEY].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  let sandbox: Sandbox | undefined;
  try {
    // A private bare copy of the repository: the helpers read objects from it, the
    // user's repository is only ever read (clone) and, at the end, fetched into.
    const cache: RepoCache = { dir: join(scratch, 'cache.git'), remoteUrl: `file://${repo.top}` };
    await runGit(['clone', '--bare', '--quiet', '--', repo.top, cache.dir]);
    await runGit(['--git-dir', cache.dir, 'fetch', '--quiet', repo.top, repo.head]).catch(() => undefined);
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
    const provider = new DockerSandboxProvider({ workerHostId: `cli-${hostname()}-${process.pid}`, log });
    const labels = { 'dev.pullwright.cli-run': runId };
    if (repoConfig.setupCommand) {
      // Setup may need the network (installing dependencies); the agent then gets its own,
      // usually stricter, policy in a fresh container on the same working copy.
      options.onEvent?.({ type: 'status', message: 'Running the setup command' });
      const setupBox = await provider.create(
        { image: config.SANDBOX_IMAGE, network: repoConfig.network.setup, labels },
        work.dir,
      );
      try {
        const setup = await setupBox.exec({ cmd: repoConfig.setupCommand, timeoutMs: 15 * 60_000, signal });
        if (setup.exitCode !== 0)
          notes.push(`The setup command exited with ${setup.exitCode ?? 'a kill'}; the agent ran anyway.`);
      } finally {
        await setupBox.dispose();
      }
    }
    sandbox = await provider.create(
      { image: config.SANDBOX_IMAGE, network: repoConfig.network.agent, labels },
      work.dir,
    );

    const context = await buildContext({
      sandbox,
      task: { kind: 'local', text: options.task },
      repoConfig: { verify: repoConfig.verifyCommands, setup: repoConfig.setupCommand ?? undefined },
    });
    const model =
      options.modelOverride ??
      createModelFromConfig({ ...config, PULLWRIGHT_MODEL: options.model ?? config.PULLWRIGHT_MODEL }, log, {
        defaultHeaders: options.modelHeaders,
      });

    let extracted: ExtractedPatch | undefined;
    const extract = async () => {
      extracted = await extractPatch({ workDir: work.dir, baseSha: work.baseSha, cache });
      return extracted;
    };
    const result = await runAgent({
      model,
      sandbox,
      tools: createDefaultTools(),
      system: context.system,
      firstUserMessage: context.firstUserMessage,
      task: { kind: 'local', text: options.task },
      budgets: {
        maxTurns: options.maxTurns ?? repoConfig.limits.maxTurns,
        maxCostUsd: options.maxCostUsd ?? repoConfig.limits.maxCostUsd,
        maxWallMs:
          options.maxWallMinutes !== undefined
            ? Math.round(options.maxWallMinutes * 60_000)
            : repoConfig.limits.maxWallMs,
      },
      signal,
      log,
      transcriptPath,
      onEvent: options.onEvent,
      secrets,
      hasChanges: async () => (await extract()).patch.trim() !== '',
    });

    let branch: string | null = null;
    let commit: string | null = null;
    let filesChanged: string[] = [];
    let stats = { files: 0, additions: 0, deletions: 0 };
    const keep = result.outcome === 'completed' || result.outcome === 'limit';
    // A change that cannot be delivered is reported with the run, not thrown: the
    // usage, summary and transcript of a finished run are still worth returning.
    if (keep)
      try {
        const patch = extracted ?? (await extract());
        if (patch.patch.trim() !== '') {
          filesChanged = patch.paths;
          stats = {
            files: patch.stats.files,
            additions: patch.stats.additions,
            deletions: patch.stats.deletions,
          };
          const problems = findPatchProblems(patch.patch, {
            maxBytes: 20 * 1024 ** 2,
            protectedPaths: repoConfig.protectedPaths,
            allowProtected: repoConfig.allowProtectedPaths,
          });
          if (problems.length > 0) {
            notes.push(`The change was not kept: ${problems.map((p) => p.message).join('; ')}`);
          } else {
            const clean = await createCleanCheckout({ cache, ref: repo.head, dir: join(scratch, 'clean') });
            await applyPatch({ cleanDir: clean.dir, patch: patch.patch });
            const who = await userIdentity(repo.top);
            commit = await commitChange({
              dir: clean.dir,
              message: commitMessage(options.task, result.summary || 'Change made by Pullwright.'),
              author: AUTHOR,
              coAuthors: who ? [who] : [],
            });
            const name = await freeBranchName(repo.top, `pullwright/run-${timestampId(now())}`);
            // Fetched by the user's repository from ours: only a new ref is created there,
            // so the user's checkout, index and working tree stay as they were.
            await runGit([
              '-C',
              repo.top,
              'fetch',
              '--quiet',
              '--no-tags',
              clean.dir,
              `${commit}:refs/heads/${name}`,
            ]);
            branch = name;
          }
        }
      } catch (err) {
        const e = toPullwrightError(err);
        log.warn({ code: e.code }, 'Local delivery failed');
        branch = null;
        commit = null;
        notes.push(`The change could not be kept (${e.code}): ${redactText(e.message, secrets)}`);
      }
    return {
      outcome: result.outcome,
      summary: redactText(result.summary, secrets),
      branch,
      commit,
      baseSha: repo.head,
      filesChanged,
      stats,
      usage: {
        inputTokens: result.usage.input,
        outputTokens: result.usage.output,
        cacheReadTokens: result.usage.cacheRead,
        cacheWriteTokens: result.usage.cacheWrite,
        costUsd: result.usage.costUsd,
      },
      turns: result.turns,
      durationMs: Date.now() - started,
      plan: result.plan,
      transcriptPath,
      ...(result.limit ? { limit: result.limit } : {}),
      ...(result.error
        ? { error: { code: result.error.code, message: redactText(result.error.message, secrets) } }
        : {}),
      notes,
    };
  } catch (err) {
    throw toPullwrightError(err);
  } finally {
    await sandbox?.dispose().catch((err: unknown) => log.warn({ err }, 'Sandbox dispose failed'));
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
}
