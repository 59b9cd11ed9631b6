import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { RepoRef, Task } from '../../src/domain/task.js';
import { PullwrightError, toPullwrightError } from '../../src/errors.js';
import { hasWriteAccess } from '../../src/github/permission.js';
import { type Logger, redactText } from '../../src/logger.js';
import type { AgentResult } from '../agent/loop/run-agent.js';
import type { AgentTask } from '../agent/tool.js';
import { assertPatchSafe, findPatchProblems } from '../delivery/patch-safety.js';
import { checkCancelled } from '../session/check-cancelled.js';
import { PhaseTimings } from '../session/phase-timings.js';
import {
  type AgentSessionDeps,
  type AgentSessionResult,
  runAgentSession,
  type SessionEvent,
} from '../session/run-agent-session.js';
import { type FlowRepoConfig, issueBranch, maintenanceBranch } from './flow-config.js';
import type { GitHubForWorker, Identity, MaintenanceCaps, PullData, WorkspacePort } from './ports.js';
import { neutralizeMarkdown, readPatchHash, renderPrBody } from './pr-body.js';
import {
  type CommentWriter,
  TrackingComment,
  type TrackingState,
  trackingMarker,
} from './tracking-comment.js';

/**
 * One job, from a queued Task to a pull request: prepare → workspace → sandbox →
 * agent → verify → deliver → report. Only this host-side code talks to GitHub and
 * pushes; the agent edits files in a sandbox and its change comes back as a patch.
 */

export interface FlowDeps {
  github: GitHubForWorker;
  workspaces: WorkspacePort;
  /** Containers, image and agent runner of the one agent session (worker/session). */
  session: AgentSessionDeps;
  caps: MaintenanceCaps;
  loadRepoConfig(repo: RepoRef, defaultBranch: string): Promise<FlowRepoConfig>;
  bot: { login: string; identity: Identity };
  /** Where transcripts are kept. */
  runDir: string;
}

/** Put on every container of a job (the provider adds its own host and instance labels). */
export const JOB_LABEL = 'dev.pullwright.job';

const PHASE_STEPS: Record<Extract<SessionEvent, { type: 'phase' }>['phase'], Partial<TrackingState>> = {
  setup: { phase: 'sandbox', step: 'Running the setup command' },
  sandbox: { phase: 'sandbox', step: 'Starting the sandbox' },
  agent: { phase: 'agent', step: 'The agent is working' },
  verify: { phase: 'verify', step: 'Running the verify commands' },
};

export type FlowStatus =
  | 'succeeded'
  | 'no-changes'
  | 'limit'
  | 'failed'
  | 'cancelled'
  | 'refused'
  | 'skipped';

export interface FlowOutcome {
  status: FlowStatus;
  prNumber?: number;
  prUrl?: string;
  branch?: string;
  commitSha?: string;
  reason?: string;
  agent?: AgentResult;
}

export function trackingKeyOf(task: Task): string {
  const target = task.kind === 'maintenance' ? `maintenance/${task.maintenanceTaskId}` : `#${task.number}`;
  return `${task.repo.owner}/${task.repo.name}${target}`;
}

function coAuthorTrailer(task: Task): string {
  const login = task.trigger.actor;
  const email =
    task.trigger.actorId !== undefined
      ? `${task.trigger.actorId}+${login}@users.noreply.github.com`
      : `${login}@users.noreply.github.com`;
  return `Co-authored-by: ${login} <${email}>`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

interface AgentPhaseResult extends AgentSessionResult {
  result: AgentResult;
  baseSha: string;
}

export interface RunFlowOptions {
  task: Task;
  jobId: string;
  deps: FlowDeps;
  signal: AbortSignal;
  log: Logger;
  /** When false, a retryable failure is reported as "retrying" rather than final. */
  finalAttempt: boolean;
}

export async function runFlow(options: RunFlowOptions): Promise<FlowOutcome> {
  const { task, deps, signal, log } = options;
  const { github } = deps;
  const started = Date.now();
  const repo = task.repo;
  const secrets: string[] = [];
  let tracking: TrackingComment | null = null;
  const timings = new PhaseTimings();

  try {
    const { token } = await github.createRepoToken(task.installationId, repo);
    secrets.push(token);
    timings.end('token');
    if (task.trigger.source !== 'schedule') {
      // Checked again here, not only at intake: a job can wait in the queue (slots, retries)
      // after the requester lost write access, and the intake's answer may be a cached one.
      const permission = await github.getPermission(repo, task.trigger.actor);
      if (!hasWriteAccess(permission)) {
        // No comment, as at intake: refusing must not become a way to make the bot talk.
        log.warn({ actor: task.trigger.actor, permission }, 'Job refused: requester lacks write permission');
        return { status: 'refused', reason: 'the requester no longer has write access' };
      }
    }
    const defaultBranch = await github.getDefaultBranch(repo);
    const config = await deps.loadRepoConfig(repo, defaultBranch);

    if (task.kind !== 'maintenance' && task.number !== undefined) {
      tracking = await openTracking(task, deps, log);
      if (config.problems.length > 0) {
        tracking.update({
          detail: `\`.github/pullwright.yml\` has problems, so defaults are used for them:\n${config.problems
            .map((p) => `- ${neutralizeMarkdown(p, 300)}`)
            .join('\n')}`,
        });
      }
    }

    timings.end('prepare');
    const ctx: FlowContext = {
      ...options,
      token,
      defaultBranch,
      config,
      tracking,
      started,
      secrets,
      timings,
    };
    let outcome: FlowOutcome;
    switch (task.kind) {
      case 'implement':
        outcome = await runImplement(ctx);
        break;
      case 'address-review':
      case 'revise':
        outcome = await runReview(ctx);
        break;
      case 'maintenance':
        outcome = await runMaintenance(ctx);
        break;
    }
    log.info(
      { status: outcome.status, pr: outcome.prNumber, durationMs: Date.now() - started },
      'Flow finished',
    );
    return outcome;
  } catch (raw) {
    const err = toPullwrightError(raw);
    const message = redactText(err.message, secrets);
    if (err.code === 'cancelled' && signal.reason === 'shutdown') {
      await tracking?.finish({
        status: 'running',
        step: 'The worker restarted during the run; it will be picked up again.',
      });
      throw err;
    }
    if (err.code === 'cancelled') {
      await tracking?.finish({
        status: 'cancelled',
        durationMs: Date.now() - started,
        detail: 'Stopped on request. Nothing was pushed by this run.',
      });
      return { status: 'cancelled', reason: message };
    }
    if (err.code === 'patch_rejected') {
      await tracking?.finish({
        status: 'refused',
        durationMs: Date.now() - started,
        detail: `The change was not pushed:\n${message
          .split('\n')
          .map((l) => `- ${l}`)
          .join('\n')}`,
      });
      return { status: 'refused', reason: message };
    }
    const willRetry = err.retryable && !options.finalAttempt;
    log.warn({ err, code: err.code, willRetry }, 'Flow failed');
    await tracking?.finish({
      status: willRetry ? 'running' : 'failed',
      durationMs: Date.now() - started,
      detail: willRetry
        ? `A temporary problem interrupted the run (${err.code}); it will be retried.`
        : `The run failed (${err.code}): ${neutralizeMarkdown(message, 1_000)}`,
    });
    throw err;
  } finally {
    // One line per run with each phase's duration (renovate's timing splits); bench/e2e reads it.
    timings.end('finish');
    log.info({ jobId: options.jobId, ...timings.summary() }, 'Run timings');
  }
}

interface FlowContext extends RunFlowOptions {
  token: string;
  defaultBranch: string;
  config: FlowRepoConfig;
  tracking: TrackingComment | null;
  started: number;
  secrets: string[];
  timings: PhaseTimings;
}

async function openTracking(task: Task, deps: FlowDeps, log: Logger): Promise<TrackingComment> {
  const key = trackingKeyOf(task);
  const number = task.number as number;
  const writer: CommentWriter = {
    create: (body) => deps.github.createComment(task.repo, number, body),
    update: (id, body) => deps.github.updateComment(task.repo, id, body),
  };
  // A retried job (after a crash or a redelivery) edits the comment its first attempt created.
  const marker = trackingMarker(key);
  const comments = await deps.github.listIssueComments(task.repo, number);
  const existing = comments.find((c) => c.author === deps.bot.login && c.body.includes(marker));
  const title =
    task.kind === 'implement'
      ? `implementing #${number} for @${task.trigger.actor}`
      : `${task.kind === 'address-review' ? 'addressing review' : 'revising'} for @${task.trigger.actor}`;
  const initial: TrackingState = {
    title,
    status: 'running',
    phase: 'prepare',
    plan: [],
    step: 'Reading the request',
  };
  const tracking = new TrackingComment(key, writer, initial, log, existing?.id ?? null);
  await tracking.start();
  return tracking;
}

/** Keeps only what people with write access said; everything else is not part of the request. */
async function authorizedAuthors(ctx: FlowContext, logins: string[]): Promise<Set<string>> {
  const allowed = new Set<string>();
  for (const login of new Set(logins)) {
    if (login === ctx.deps.bot.login || login.endsWith('[bot]')) continue;
    const permission = await ctx.deps.github.getPermission(ctx.task.repo, login);
    if (hasWriteAccess(permission)) allowed.add(login);
  }
  return allowed;
}

async function runInSandbox(
  ctx: FlowContext,
  startRef: string,
  agentTask: AgentTask,
): Promise<AgentPhaseResult> {
  const { deps, task, signal, config, tracking, log, timings } = ctx;
  timings.end('gather');
  checkCancelled(signal);
  tracking?.update({ phase: 'workspace', step: 'Fetching the repository' });
  const workspace = await deps.workspaces.prepare({
    repo: task.repo,
    token: ctx.token,
    ref: startRef,
    jobId: ctx.jobId,
  });
  timings.end('workspace');
  try {
    const session = await runAgentSession(deps.session, {
      workspace,
      task: agentTask,
      repoConfig: config,
      labels: { [JOB_LABEL]: ctx.jobId },
      signal,
      log,
      transcriptPath: join(deps.runDir, `${ctx.jobId.replace(/[^A-Za-z0-9_.-]/g, '_')}.jsonl`),
      secrets: ctx.secrets,
      timings,
      onEvent: (event) => {
        if (event.type === 'phase') tracking?.update(PHASE_STEPS[event.phase]);
        else if (event.type === 'setup-failed')
          tracking?.update({
            detail: `The setup command exited with ${event.exitCode ?? 'a kill'}; continuing.`,
          });
        else if (event.type === 'plan') tracking?.update({ plan: event.items });
        else if (event.type === 'tool') tracking?.update({ step: `${event.name}: ${event.summary}` });
        else if (event.type === 'status') tracking?.update({ step: event.message });
      },
    });
    if (session.agent.outcome === 'cancelled') {
      checkCancelled(signal);
      throw new PullwrightError('cancelled', 'The agent run was cancelled.');
    }
    tracking?.update({ plan: session.agent.plan });
    return { ...session, result: session.agent, baseSha: workspace.baseSha };
  } finally {
    await workspace.dispose();
  }
}

function usageOf(result: AgentResult): Partial<TrackingState> {
  return { tokens: result.usage, costUsd: result.usage.costUsd };
}

function draftReasonOf(ctx: FlowContext, phase: AgentPhaseResult): string | undefined {
  const failed = phase.verify.filter((v) => !v.ok).map((v) => `\`${v.command}\``);
  if (failed.length > 0) return `verification failed (${failed.join(', ')}).`;
  if (phase.result.outcome === 'limit') return `the run stopped at its ${phase.result.limit ?? ''} limit.`;
  if (phase.result.outcome === 'error')
    return `the agent ended with an error (${phase.result.error?.code ?? ''}).`;
  if (ctx.config.pr.draft) return 'the repository asks for draft PRs.';
  return undefined;
}

function checkPatch(ctx: FlowContext, phase: AgentPhaseResult): void {
  assertPatchSafe(phase.patch.patch, {
    protectedPaths: ctx.config.protectedPaths,
    allowProtected: ctx.config.allowProtectedPaths,
  });
}

async function finishNoChanges(ctx: FlowContext, phase: AgentPhaseResult): Promise<FlowOutcome> {
  await ctx.tracking?.finish({
    status: phase.result.outcome === 'limit' ? 'limit' : 'no-changes',
    durationMs: Date.now() - ctx.started,
    ...usageOf(phase.result),
    verify: phase.verify,
    detail: neutralizeMarkdown(phase.result.summary, 2_000) || 'The agent made no change to the repository.',
  });
  return { status: 'no-changes', agent: phase.result };
}

/** Pushes without force; when a person pushed meanwhile, stops and says so instead of overwriting. */
async function push(
  ctx: FlowContext,
  phase: AgentPhaseResult,
  branch: string,
  message: string,
  replaceSha?: string,
): Promise<string> {
  ctx.tracking?.update({ phase: 'deliver', step: `Pushing ${branch}` });
  try {
    const { commitSha } = await ctx.deps.workspaces.commitAndPush({
      repo: ctx.task.repo,
      token: ctx.token,
      parentSha: phase.baseSha,
      branch,
      patch: phase.patch.patch,
      message: `${message}\n\n${coAuthorTrailer(ctx.task)}\n`,
      author: ctx.deps.bot.identity,
      replaceSha,
    });
    return commitSha;
  } catch (raw) {
    const err = toPullwrightError(raw);
    if (err.code === 'conflict') {
      throw new PullwrightError(
        'conflict',
        `Someone pushed to \`${branch}\` while this run was working. Their commits were left as they are; ask again to build on them.`,
        { retryable: false, cause: err },
      );
    }
    throw err;
  }
}

async function ensurePullRequest(
  ctx: FlowContext,
  input: { branch: string; title: string; body: string; draft: boolean },
): Promise<{ pull: PullData; created: boolean }> {
  const { github } = ctx.deps;
  const [open] = await github.listPullsByHead(ctx.task.repo, input.branch, 'open');
  if (open) {
    const pull = await github.updatePull(ctx.task.repo, open.number, { body: input.body });
    return { pull, created: false };
  }
  try {
    const pull = await github.createPull(ctx.task.repo, {
      title: input.title,
      body: input.body,
      head: input.branch,
      base: ctx.defaultBranch,
      draft: input.draft,
    });
    if (ctx.config.pr.labels.length > 0)
      await github.addLabels(ctx.task.repo, pull.number, ctx.config.pr.labels);
    return { pull, created: true };
  } catch (raw) {
    // A concurrent attempt (a redelivery racing a retry) may have opened it: adopt that one.
    const err = toPullwrightError(raw);
    if (err.code !== 'conflict' && err.code !== 'input_invalid') throw err;
    const [raced] = await github.listPullsByHead(ctx.task.repo, input.branch, 'open');
    if (!raced) throw err;
    return {
      pull: await github.updatePull(ctx.task.repo, raced.number, { body: input.body }),
      created: false,
    };
  }
}

async function runImplement(ctx: FlowContext): Promise<FlowOutcome> {
  const { task, deps } = ctx;
  const number = task.number as number;
  const issue = await deps.github.getIssue(task.repo, number);
  const comments = await deps.github.listIssueComments(task.repo, number);
  const allowed = await authorizedAuthors(
    ctx,
    comments.filter((c) => !c.authorIsBot).map((c) => c.author),
  );
  const branch = issueBranch(ctx.config.pr.branchPrefix, number, issue.title);
  const branchSha = await deps.github.getBranchSha(task.repo, branch);
  // Asking again builds on the existing branch, including any commits a person added.
  const phase = await runInSandbox(ctx, branchSha ?? ctx.defaultBranch, {
    kind: 'implement',
    issue: {
      number,
      title: issue.title,
      body: issue.body,
      comments: comments
        .filter((c) => allowed.has(c.author) && !c.body.includes('<!-- pullwright:'))
        .map((c) => ({ author: c.author, body: c.body })),
    },
    instruction: task.trigger.instruction,
  });
  if (phase.patch.patch.trim() === '') return finishNoChanges(ctx, phase);
  checkPatch(ctx, phase);
  const commitSha = await push(ctx, phase, branch, `${issue.title} (#${number})`.slice(0, 72));
  const draftReason = draftReasonOf(ctx, phase);
  const body = renderPrBody({
    heading: `Implements #${number}, as asked by @${task.trigger.actor}.`,
    result: phase.result,
    patch: phase.patch,
    verify: phase.verify,
    fixes: number,
    draftReason,
    requestedBy: task.trigger.actor,
    patchHash: sha256(phase.patch.patch),
  });
  const { pull } = await ensurePullRequest(ctx, {
    branch,
    title: issue.title.slice(0, 200),
    body,
    draft: draftReason !== undefined,
  });
  await ctx.tracking?.finish({
    status: phase.result.outcome === 'limit' ? 'limit' : 'succeeded',
    prUrl: pull.htmlUrl,
    prNumber: pull.number,
    branch,
    durationMs: Date.now() - ctx.started,
    ...usageOf(phase.result),
    verify: phase.verify,
    blockedHosts: phase.blockedHosts,
    detail: draftReason ? `Opened as a draft: ${draftReason}` : undefined,
  });
  return {
    status: 'succeeded',
    prNumber: pull.number,
    prUrl: pull.htmlUrl,
    branch,
    commitSha,
    agent: phase.result,
  };
}

async function runReview(ctx: FlowContext): Promise<FlowOutcome> {
  const { task, deps } = ctx;
  const number = task.number as number;
  const pull = await deps.github.getPull(task.repo, number);
  const fullName = `${task.repo.owner}/${task.repo.name}`;
  if (pull.headRepoFullName !== fullName) {
    // The app's token cannot push to a fork, and running on a fork's code with our
    // credentials nearby is exactly what a malicious fork would want.
    await ctx.tracking?.finish({
      status: 'refused',
      durationMs: Date.now() - ctx.started,
      detail:
        'This pull request comes from a fork, where Pullwright cannot push. It can implement the change on a branch of this repository instead: assign the issue, or copy the branch here and ask again.',
    });
    return { status: 'refused', reason: 'fork' };
  }
  if (pull.state !== 'open') {
    await ctx.tracking?.finish({
      status: 'refused',
      detail: 'This pull request is closed; reopen it and ask again.',
    });
    return { status: 'refused', reason: 'closed' };
  }
  const threads = (await deps.github.listReviewThreads(task.repo, number)).filter((t) => !t.isResolved);
  const reviews = (await deps.github.listReviews(task.repo, number)).filter(
    (r) => r.body.trim() !== '' && r.commitId === pull.headSha,
  );
  const allowed = await authorizedAuthors(ctx, [
    ...threads.flatMap((t) => t.comments.map((c) => c.author)),
    ...reviews.map((r) => r.author),
  ]);
  const usableThreads = threads
    .map((t) => ({ ...t, comments: t.comments.filter((c) => allowed.has(c.author)) }))
    .filter((t) => t.comments.length > 0);
  const usableReviews = reviews.filter((r) => allowed.has(r.author));
  if (task.kind === 'address-review' && usableThreads.length === 0 && usableReviews.length === 0) {
    await ctx.tracking?.finish({
      status: 'no-changes',
      durationMs: Date.now() - ctx.started,
      detail: 'There are no unresolved review threads or new review comments to address.',
    });
    return { status: 'no-changes', reason: 'nothing to address' };
  }
  const phase = await runInSandbox(ctx, pull.headRef, {
    kind: task.kind === 'revise' ? 'revise' : 'address-review',
    pr: { number, title: pull.title, body: pull.body, baseRef: pull.baseRef, headRef: pull.headRef },
    threads: usableThreads.map((t) => ({
      id: t.id,
      path: t.path,
      line: t.line,
      diffHunk: t.diffHunk,
      comments: t.comments.map((c) => ({ author: c.author, body: c.body })),
    })),
    reviews: usableReviews.map((r) => ({ author: r.author, body: r.body, state: r.state })),
    instruction: task.trigger.instruction,
  });
  // The agent's own reply for each thread (by its number in the task), else the run's summary.
  // Model output that read untrusted text: neutralized like the summary before posting.
  const own = new Map((phase.result.threadReplies ?? []).map((r) => [r.thread, r.reply]));
  const explain = (index: number) => {
    const reply = own.get(index + 1);
    return reply !== undefined
      ? neutralizeMarkdown(reply, 1_000)
      : neutralizeMarkdown(phase.result.summary, 800);
  };
  if (phase.patch.patch.trim() === '') {
    for (const [index, thread] of usableThreads.entries()) {
      const first = thread.comments[0];
      if (first) {
        await deps.github.replyToReviewComment(
          task.repo,
          number,
          first.databaseId,
          `I looked at this and made no change. ${explain(index)}`,
        );
      }
    }
    return finishNoChanges(ctx, phase);
  }
  checkPatch(ctx, phase);
  const subject = task.kind === 'revise' ? 'Apply requested revision' : 'Address review comments';
  const commitSha = await push(ctx, phase, pull.headRef, `${subject} (#${number})`);
  const short = commitSha.slice(0, 7);
  const changed = new Set(phase.patch.paths);
  for (const [index, thread] of usableThreads.entries()) {
    const first = thread.comments[0];
    if (!first) continue;
    const reply = changed.has(thread.path)
      ? `Addressed in ${short}: \`${thread.path}\` was updated. ${explain(index)}`
      : `Looked at this in ${short}; \`${thread.path}\` was not changed. ${explain(index)}`;
    await deps.github.replyToReviewComment(task.repo, number, first.databaseId, reply);
  }
  await ctx.tracking?.finish({
    status: phase.result.outcome === 'limit' ? 'limit' : 'succeeded',
    prUrl: pull.htmlUrl,
    prNumber: number,
    branch: pull.headRef,
    durationMs: Date.now() - ctx.started,
    ...usageOf(phase.result),
    verify: phase.verify,
    blockedHosts: phase.blockedHosts,
    detail: `Pushed ${short} to \`${pull.headRef}\`, replied in ${usableThreads.length} thread(s).\n\n${neutralizeMarkdown(
      phase.result.summary,
      3_000,
    )}`,
  });
  return {
    status: 'succeeded',
    prNumber: number,
    prUrl: pull.htmlUrl,
    branch: pull.headRef,
    commitSha,
    agent: phase.result,
  };
}

async function runMaintenance(ctx: FlowContext): Promise<FlowOutcome> {
  const { task, deps, log } = ctx;
  const taskConfig = ctx.config.maintenance.find((m) => m.id === task.maintenanceTaskId);
  if (!taskConfig) {
    // The schedule outlived its declaration; intake removes it on the next config sync.
    log.info({ taskId: task.maintenanceTaskId }, 'Maintenance task no longer declared');
    return { status: 'skipped', reason: 'task no longer declared' };
  }
  const branch = maintenanceBranch(ctx.config.pr.branchPrefix, taskConfig.id);
  const [branchSha, defaultSha] = await Promise.all([
    deps.github.getBranchSha(task.repo, branch),
    deps.github.getBranchSha(task.repo, ctx.defaultBranch),
  ]);
  const foreign =
    branchSha && defaultSha
      ? await deps.workspaces.foreignCommits({
          repo: task.repo,
          token: ctx.token,
          branchSha,
          sinceSha: defaultSha,
          botEmail: deps.bot.identity.email,
        })
      : [];
  // Regenerated from the current base unless a person has pushed to the branch.
  const buildOnBranch = foreign.length > 0;
  const phase = await runInSandbox(
    ctx,
    buildOnBranch && branchSha ? branchSha : (defaultSha ?? ctx.defaultBranch),
    {
      kind: 'maintenance',
      taskId: taskConfig.id,
      prompt: taskConfig.prompt,
    },
  );
  if (phase.patch.patch.trim() === '') return { status: 'no-changes', agent: phase.result };
  const problems = findPatchProblems(phase.patch.patch, {
    protectedPaths: ctx.config.protectedPaths,
    allowProtected: ctx.config.allowProtectedPaths,
  });
  if (problems.length > 0) {
    log.warn({ taskId: taskConfig.id, kinds: problems.map((p) => p.kind) }, 'Maintenance change refused');
    return { status: 'refused', reason: problems.map((p) => p.message).join('\n') };
  }
  const patchHash = sha256(phase.patch.patch);
  const closed = (await deps.github.listPullsByHead(task.repo, branch, 'closed')).filter((p) => !p.merged);
  if (closed.some((p) => readPatchHash(p.body) === patchHash)) {
    log.info({ taskId: taskConfig.id }, 'Maintenance change was closed before; not proposing it again');
    return { status: 'skipped', reason: 'same change was closed by a person' };
  }
  const [open] = await deps.github.listPullsByHead(task.repo, branch, 'open');
  if (open && readPatchHash(open.body) === patchHash && !buildOnBranch) {
    return {
      status: 'skipped',
      reason: 'open PR is already up to date',
      prNumber: open.number,
      prUrl: open.htmlUrl,
    };
  }
  if (!open) {
    const cap = await deps.caps.check(task.repo, taskConfig);
    if (!cap.ok) {
      log.info({ taskId: taskConfig.id, reason: cap.reason }, 'Maintenance PR held back by a cap');
      return { status: 'skipped', reason: cap.reason };
    }
  }
  const commitSha = await push(
    ctx,
    phase,
    branch,
    `Maintenance: ${taskConfig.id}`,
    buildOnBranch ? undefined : (branchSha ?? undefined),
  );
  const draftReason = draftReasonOf(ctx, phase);
  const body = renderPrBody({
    heading: `Scheduled maintenance task \`${taskConfig.id}\` from \`.github/pullwright.yml\`.`,
    result: phase.result,
    patch: phase.patch,
    verify: phase.verify,
    draftReason,
    requestedBy: task.trigger.actor,
    patchHash,
  });
  const { pull, created } = await ensurePullRequest(ctx, {
    branch,
    title: `Maintenance: ${taskConfig.id}`,
    body,
    draft: draftReason !== undefined,
  });
  if (created) await deps.caps.recordOpened(task.repo, taskConfig.id, pull.number);
  return {
    status: 'succeeded',
    prNumber: pull.number,
    prUrl: pull.htmlUrl,
    branch,
    commitSha,
    agent: phase.result,
  };
}
