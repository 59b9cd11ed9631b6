import type { TargetTask } from '../../../src/domain/task.js';
import { type CiState, gatherCiState } from '../ci/gather-ci-failures.js';
import { ruleOutFlaky } from '../ci/rule-out-flaky.js';
import type { FlowContext } from '../flow-context.js';
import { codeSpan, inertInline, inertMarkdown } from '../inert-markdown.js';
import { approvedText, assertRunPatchSafe, hasChange, pushRun } from '../mode-helpers.js';
import type { Mode, ModeOutcome } from './mode.js';
import { agentPullOf, isOwnPull, onBehalfOf, ownOpenPull } from './own-pull.js';

/**
 * `repair-ci` (issue 15 item 1): the checks on a head Pullwright pushed failed (or a
 * writer said `@agent fix ci`). Gathers what failed, leaves out what also fails on the
 * base branch (before the first repair) and what passes on a re-run (flaky), and runs
 * the agent with the failures and the repository's verify commands; the repair is a new
 * commit on the same branch. Bounded by `ci.maxRepairs` per PR, counted across heads by
 * the app's claim (src/queue/follow-up-marks.ts); at the limit it reports and stops.
 */

function names(list: { name: string }[]): string {
  return list.map((f) => codeSpan(inertInline(f.name, 100))).join(', ');
}

function attemptText(attempt: number, max: number): string {
  return `attempt ${attempt} of ${max}`;
}

async function attemptOf(ctx: FlowContext<TargetTask>, headSha: string) {
  const target = { installationId: ctx.task.installationId, repo: ctx.task.repo, number: ctx.task.number };
  // A writer's `@agent fix ci` is never refused by the limit but counts (the app claims follow-ups itself).
  const claim =
    ctx.task.trigger.source === 'follow-up'
      ? await ctx.deps.followUps?.getRepair(target, headSha)
      : await ctx.deps.followUps?.claimRepair(target, headSha, {
          maxRepairs: ctx.config.ci.maxRepairs,
          requested: true,
        });
  if (claim && 'status' in claim && claim.status === 'exhausted')
    return { attempt: claim.attempts, max: claim.maxAttempts, exhausted: true };
  const max = Math.max(ctx.config.ci.maxRepairs, claim?.maxAttempts ?? 0);
  if (claim && 'attempt' in claim)
    return {
      attempt: claim.attempt,
      max: claim.maxAttempts || max,
      exhausted: 'exhausted' in claim && claim.exhausted === true,
    };
  // No claim (no follow-up store, or a job queued before marks existed): count what was recorded.
  const mark = await ctx.deps.followUps?.getPull(target);
  return { attempt: (mark?.repairs ?? 0) + 1, max, exhausted: false };
}

/** Checks failing on the base branch's latest commit too: not this PR's doing. */
async function failingOnBase(
  ctx: FlowContext<TargetTask>,
  baseRef: string,
  state: CiState,
): Promise<Set<string>> {
  const baseSha = await ctx.github.getBranchSha(baseRef);
  if (!baseSha) return new Set();
  const base = await gatherCiState(ctx.github, baseSha, { botLogin: ctx.deps.bot.login, logs: false });
  const failing = new Set(base.failures.map((f) => f.name));
  return new Set(state.failures.map((f) => f.name).filter((n) => failing.has(n)));
}

export const repairCiMode: Mode<TargetTask> = {
  trackingTitle: (task) => `repairing CI for ${onBehalfOf(task)}`,

  async plan(ctx) {
    const { task, github } = ctx;
    const trigger = task.trigger;
    const followUp = trigger.source === 'follow-up';
    if (followUp && !ctx.config.ci.repair)
      return {
        status: 'skipped',
        reason: 'ci.repair is off',
        detail: 'CI repair is turned off (`ci.repair: false`).',
      };
    const own = await ownOpenPull(ctx);
    if (!isOwnPull(own)) return own;
    const { pull, fork } = own;
    const headSha = followUp ? (trigger.headSha ?? pull.headSha) : pull.headSha;
    const short = headSha.slice(0, 7);
    if (followUp && pull.headSha !== headSha)
      return {
        status: 'skipped',
        reason: 'head moved',
        detail: `The branch moved on since ${short} failed; the checks of its new head decide what happens next.`,
      };
    if (followUp) {
      // The app queued this for a head it found in the marks; re-checked here, because a person
      // may have pushed since, and Pullwright never repairs a head a person pushed.
      const mark = await ctx.deps.followUps?.getPull({
        installationId: task.installationId,
        repo: task.repo,
        number: task.number,
      });
      if (mark && mark.headSha !== headSha)
        return {
          status: 'skipped',
          reason: 'foreign head',
          detail: `${short} was not pushed by Pullwright, so its checks are left to the people working on it.`,
        };
    }

    ctx.tracking?.update({ phase: 'prepare', step: `Reading the checks of ${short}` });
    let state = await gatherCiState(github, headSha, { botLogin: ctx.deps.bot.login });
    const target = { installationId: task.installationId, repo: task.repo, number: task.number };
    // Failed jobs this repair re-ran earlier (ci/rule-out-flaky.ts): done means compare now.
    const rerun = (await ctx.deps.followUps?.getRerun?.(target, headSha)) ?? null;
    if (state.failures.length === 0 && rerun?.status !== 'done')
      return state.pending.length > 0
        ? {
            status: 'skipped',
            reason: 'pending',
            detail: `Checks are still running on ${short}: ${names(state.pending.map((name) => ({ name })))}.`,
          }
        : {
            status: 'no-changes',
            reason: 'green',
            detail: `All checks pass on ${short}; nothing to repair.`,
          };
    const { attempt, max, exhausted } = await attemptOf(ctx, headSha);
    if (exhausted || attempt > max)
      return {
        status: 'limit',
        reason: 'max repairs',
        detail: `Still failing on ${short}: ${names(state.failures)}. Pullwright stopped after ${max} repair attempt(s) (\`ci.maxRepairs\`); a person needs to look, or ask \`@agent fix ci\` to try once more.`,
      };

    const notes: string[] = [];
    if (attempt === 1) {
      const onBase = await failingOnBase(ctx, pull.baseRef, state);
      if (onBase.size > 0) {
        notes.push(
          `Already failing on the base branch ${codeSpan(pull.baseRef)}, not repaired here: ${names([...onBase].map((name) => ({ name })))}.`,
        );
        state = { ...state, failures: state.failures.filter((f) => !onBase.has(f.name)) };
      }
    }
    const flakyCheck = await ruleOutFlaky(ctx, { target, headSha, state, rerun });
    if (flakyCheck.kind === 'started' || flakyCheck.kind === 'pending')
      return {
        status: 'skipped',
        reason: 'rerunning',
        detail: [
          ...notes,
          `Re-running the failed jobs of ${short} (${names(state.failures)}) once to rule out a flaky check. Pullwright continues when they finish: a check that passes then is reported as flaky, one that fails again is repaired.`,
        ].join('\n\n'),
      };
    if (flakyCheck.kind === 'decided') {
      if (flakyCheck.flaky.length > 0)
        notes.push(
          `Flaky (failed, then passed on a re-run), not repaired: ${names(flakyCheck.flaky.map((name) => ({ name })))}.`,
        );
      state = flakyCheck.state;
    }
    if (state.failures.length === 0)
      return { status: 'skipped', reason: 'nothing to repair', detail: notes.join('\n\n') };
    if (notes.length > 0) ctx.tracking?.update({ notes });

    const failures = state.failures;
    return {
      startRef: headSha,
      // Pullwright's own fork PR: the base repository keeps its head as refs/pull/N/head.
      fetchRefs: fork ? [fork.headRef] : undefined,
      headSha,
      agentTask: {
        kind: 'repair-ci',
        pr: agentPullOf(pull, approvedText(ctx, pull, 'pull request')),
        failures,
        attempt,
        maxAttempts: max,
        instruction: trigger.instruction,
      },
      async deliver(run): Promise<ModeOutcome> {
        const what = `CI repair ${attemptText(attempt, max)} for ${short}. Failed: ${names(failures)}.`;
        if (!hasChange(run))
          return {
            status: 'no-changes',
            agent: run.agent,
            verify: run.verify,
            detail: `${what}\n\nNo change was made, so nothing was pushed.\n\n${inertMarkdown(run.agent.summary, 2_000)}`,
          };
        assertRunPatchSafe(ctx, run);
        const subject = `Fix CI: ${failures.map((f) => inertInline(f.name, 40)).join(', ')}`.slice(0, 72);
        const commitSha = await pushRun(ctx, run, {
          branch: pull.headRef,
          pull: { number: pull.number, baseRef: pull.baseRef },
          message: `${subject} (#${pull.number})`,
          // To the fork for a fork-delivered PR (its token), never to a branch of this repository.
          target: fork?.target,
        });
        const files = run.patch.paths
          .slice(0, 20)
          .map((p) => codeSpan(p))
          .join(', ');
        return {
          status: 'succeeded',
          prNumber: pull.number,
          prUrl: pull.htmlUrl,
          branch: pull.headRef,
          baseRef: pull.baseRef,
          commitSha,
          agent: run.agent,
          verify: run.verify,
          blockedHosts: run.blockedHosts,
          detail: `${what}\n\nPushed ${commitSha.slice(0, 7)} to ${codeSpan(pull.headRef)}${fork ? ` in ${codeSpan(`${fork.target.pushRepo.owner}/${fork.target.pushRepo.name}`)}` : ''} (${files}); CI runs again on it.\n\n${inertMarkdown(run.agent.summary, 3_000)}`,
        };
      },
    };
  },
};
