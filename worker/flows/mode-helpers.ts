import { createHash } from 'node:crypto';
import { approvedTextHash, type TargetTask } from '../../src/domain/task.js';
import { PullwrightError } from '../../src/errors.js';
import type { PullData } from '../../src/github/github-for-worker.js';
import { hasWriteAccess } from '../../src/github/permission.js';
import { deniedPaths, EMPTY_RULES, resolveToolPolicy } from '../agent/permissions/index.js';
import { ensurePullRequest } from '../delivery/ensure-pull-request.js';
import {
  chooseDelivery,
  type DeliveryChoice,
  type DeliveryTarget,
  resolveDeliveryTarget,
} from '../delivery/fork-delivery.js';
import { assertPatchSafe } from '../delivery/patch-safety.js';
import { pushChange } from '../delivery/push-change.js';
import type { FlowContext, SessionRun } from './flow-context.js';
import { codeSpan, inertMarkdown } from './inert-markdown.js';
import type { ModeOutcome } from './modes/mode.js';
import { renderPrBody } from './pr-body.js';
import { recordPush } from './record-push.js';

/** What the modes share: who may speak in a request, patch checks, push, and the usual reports. */

/** Keeps only what people with write access said; everything else is not part of the request. */
export async function authorizedAuthors(ctx: FlowContext, logins: string[]): Promise<Set<string>> {
  const allowed = new Set<string>();
  for (const login of new Set(logins)) {
    if (login === ctx.deps.bot.login || login.endsWith('[bot]')) continue;
    if (hasWriteAccess(await ctx.github.getPermission(login))) allowed.add(login);
  }
  return allowed;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Why the pull request opens as a draft, or undefined for a ready one. */
export function draftReasonOf(ctx: FlowContext, run: SessionRun): string | undefined {
  const failed = run.verify.filter((v) => !v.ok).map((v) => codeSpan(v.command.slice(0, 200)));
  if (failed.length > 0) return `verification failed (${failed.join(', ')}).`;
  if (run.agent.outcome === 'limit') return `the run stopped at its ${run.agent.limit ?? ''} limit.`;
  if (run.agent.outcome === 'failed')
    return `the agent ended with an error (${run.agent.error?.code ?? ''}).`;
  if (ctx.config.pr.draft) return 'the repository asks for draft PRs.';
  return undefined;
}

/** Throws `patch_rejected` (reported as refused) for an oversized, protected-path or secret-bearing change. */
export function assertRunPatchSafe(ctx: FlowContext, run: SessionRun): void {
  // The list is complete (built-in, operator's and repository's); workflow edits allowed by both
  // sides already left the built-in entries out, so nothing here may skip the check.
  assertPatchSafe(run.patch.patch, { protectedPaths: ctx.config.protectedPaths });
  // The tool policy's write rules (issue 18), checked again on what comes back: the shell can
  // write files the editor's check never saw, so the patch is the guarantee.
  const policy = resolveToolPolicy(ctx.deps.session.operatorPolicy ?? EMPTY_RULES, ctx.config.permissions);
  const denied = deniedPaths(policy, run.patch.paths);
  if (denied.length > 0)
    throw new PullwrightError(
      'patch_rejected',
      denied
        .slice(0, 20)
        .map(({ path, decision }) => {
          const why = decision.allowed
            ? ''
            : `${decision.source === 'operator' ? "the operator's" : "the repository's"} write rules${decision.rule ? ` (${decision.rule})` : ''}`;
          return `${path}: denied by ${why}`;
        })
        .join('\n'),
      { retryable: false },
    );
}

export function hasChange(run: SessionRun): boolean {
  return run.patch.patch.trim() !== '';
}

export function noChangesOutcome(run: SessionRun): ModeOutcome {
  return {
    status: 'no-changes',
    agent: run.agent,
    verify: run.verify,
    detail: inertMarkdown(run.agent.summary, 2_000) || 'The agent made no change to the repository.',
  };
}

/**
 * Where this run's change goes: the repository's branch, or the operator's fork (`delivery: fork`,
 * worker/delivery/fork-delivery.ts). A fork's token joins the secrets scrubbed from reports.
 */
export async function deliveryTargetOf(ctx: FlowContext, choice?: DeliveryChoice): Promise<DeliveryTarget> {
  const delivery = ctx.deps.delivery ?? { forceFork: false };
  const chosen =
    choice ??
    chooseDelivery({
      requested: ctx.config.delivery,
      forceFork: delivery.forceFork,
      forkOwner: delivery.forkOwner,
    });
  const { forkFor } = ctx.deps.github;
  const target = await resolveDeliveryTarget({
    github: {
      forkFor: (base, owner) => {
        if (!forkFor) throw new Error('This worker cannot deliver to a fork (no forkFor).');
        return forkFor(base, owner);
      },
    },
    repoGitHub: ctx.github,
    choice: chosen,
  });
  if (target.mode === 'fork') ctx.secrets.push(target.pushToken);
  return target;
}

/**
 * Commits the run's change as the app, crediting the requester, and pushes `branch` (to the
 * target's repository). With the PR's number known, the pushed head is recorded for the app's
 * follow-ups at once, before CI on it can report (runFlow records again once a new PR exists).
 */
export async function pushRun(
  ctx: FlowContext,
  run: SessionRun,
  input: {
    branch: string;
    message: string;
    replaceSha?: string;
    target?: DeliveryTarget;
    pull?: { number: number; baseRef: string };
  },
): Promise<string> {
  ctx.tracking?.update({ phase: 'deliver', step: `Pushing ${input.branch}` });
  const fork = input.target?.mode === 'fork' ? input.target : undefined;
  const commitSha = await pushChange(ctx.deps.workspaces, {
    pushTo: fork ? { repo: fork.pushRepo, token: fork.pushToken } : undefined,
    repo: ctx.task.repo,
    token: ctx.github.token,
    baseSha: run.baseSha,
    branch: input.branch,
    patch: run.patch.patch,
    message: input.message,
    author: ctx.deps.bot.identity,
    requester: ctx.task.trigger,
    replaceSha: input.replaceSha,
  });
  if (input.pull)
    await recordPush(
      ctx,
      { commitSha, prNumber: input.pull.number, branch: input.branch, baseRef: input.pull.baseRef },
      false,
    );
  return commitSha;
}

/** Opens (or updates) the branch's pull request, as a draft when the run gives a reason. */
export async function proposeChange(
  ctx: FlowContext,
  run: SessionRun,
  input: {
    branch: string;
    title: string;
    heading: string;
    fixes?: number;
    patchHash: string;
    target?: DeliveryTarget;
  },
): Promise<{ pull: PullData; created: boolean; draftReason: string | undefined }> {
  const draftReason = draftReasonOf(ctx, run);
  const { pull, created } = await ensurePullRequest(input.target?.pulls ?? ctx.github, {
    branch: input.branch,
    base: ctx.defaultBranch,
    title: input.title,
    body: renderPrBody({
      heading: input.heading,
      result: run.agent,
      patch: run.patch,
      verify: run.verify,
      fixes: input.fixes,
      draftReason,
      requestedBy: ctx.task.trigger.actor,
      patchHash: input.patchHash,
      trackingUrl: ctx.recorder.url ?? undefined,
      review: run.review ?? null,
    }),
    draft: draftReason !== undefined,
    labels: ctx.config.pr.labels,
  });
  return { pull, created, draftReason };
}

/**
 * The issue or PR text to run on: the live text, unless it changed since the trigger was
 * approved (issue 14 item 4). Then the author, maybe not a writer, may have rewritten it
 * while the job waited, so the run uses the text a writer saw and says so in the comment.
 */
export function approvedText(
  ctx: FlowContext<TargetTask>,
  live: { title: string; body: string },
  what: 'issue' | 'pull request',
): { title: string; body: string } {
  const approved = ctx.task.approved;
  if (!approved || approvedTextHash(live.title, live.body) === approved.sha256)
    return { title: live.title, body: live.body };
  const when = approved.updatedAt ? ` (approved text from ${approved.updatedAt})` : '';
  ctx.log.info({ what }, 'Running on the approved text: it was edited after the trigger');
  ctx.tracking?.update({
    notes: [
      `The ${what} was edited after @${ctx.task.trigger.actor} asked${when}; running on the approved text. Ask again to run on the new text.`,
    ],
  });
  return { title: approved.title, body: approved.body };
}
