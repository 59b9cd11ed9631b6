import { AbortReason, abortReasonOf } from '../../src/domain/abort-reason.js';
import { type PullwrightError, toPullwrightError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { redactText } from '../../src/logger.js';
import type { CheckRunReporter } from './check-run.js';
import type { FlowOutcome } from './flow-context.js';
import { inertInline, inertMarkdown } from './inert-markdown.js';
import type { ModeOutcome } from './modes/mode.js';
import type { TrackingComment } from './tracking-comment.js';

/**
 * The one place a run's end becomes the tracking comment's last edit: a mode's
 * outcome, or an error mapped to what the person who asked should read.
 */
export interface ReportTarget {
  tracking: TrackingComment | null;
  /** Completed with the same outcome as the tracking comment (check-run.ts). */
  checkRun: CheckRunReporter | null;
  started: number;
  secrets: string[];
  log: Logger;
  /** Named in a failure's public text so the operator can find its details in the worker log. */
  jobId: string;
}

export async function reportOutcome(target: ReportTarget, outcome: ModeOutcome): Promise<FlowOutcome> {
  const { agent, detail, verify, blockedHosts, question, files, baseRef: _baseRef, ...flow } = outcome;
  // A run that stopped at a budget is shown as such even when what it did was delivered.
  const atLimit = agent?.outcome === 'limit' && (flow.status === 'succeeded' || flow.status === 'no-changes');
  await target.checkRun?.complete({
    status: atLimit ? 'limit' : flow.status,
    title: target.tracking?.current.title ?? flow.status,
    detail: question ? `**Question:** ${inertMarkdown(question.text, 3_000)}` : detail,
    plan: agent?.plan ?? [],
    verify,
    files,
    turns: agent?.turns,
    tokens: agent?.usage,
    costUsd: agent?.usage.costUsd,
    durationMs: Date.now() - target.started,
    commitSha: flow.commitSha,
  });
  await target.tracking?.finish({
    status: atLimit ? 'limit' : flow.status,
    prUrl: flow.prUrl,
    prNumber: flow.prNumber,
    branch: flow.branch,
    durationMs: Date.now() - target.started,
    ...(agent ? { tokens: agent.usage, costUsd: agent.usage.costUsd } : {}),
    verify,
    blockedHosts,
    detail,
    question,
  });
  return agent ? { ...flow, agent } : flow;
}

/** Reports a failed run and returns its outcome, or rethrows when the queue must see the error. */
export async function reportFailure(
  target: ReportTarget & { signal: AbortSignal; finalAttempt: boolean },
  raw: unknown,
): Promise<FlowOutcome> {
  const { tracking, started } = target;
  const err = toPullwrightError(raw);
  const message = redactText(err.message, target.secrets);
  const reason = abortReasonOf(target.signal);
  const closeCheck = (status: 'failed' | 'cancelled' | 'refused', detail: string) =>
    target.checkRun?.complete({
      status,
      title: tracking?.current.title ?? status,
      detail,
      plan: tracking?.current.plan ?? [],
      durationMs: Date.now() - started,
    });
  if (err.code === 'cancelled' && reason === AbortReason.lockLost) {
    // Another worker may own the job now: its comment is not ours to edit.
    throw err;
  }
  if (err.code === 'cancelled' && reason === AbortReason.shutdown) {
    await closeCheck('cancelled', 'The worker restarted during the run; it will be picked up again.');
    await tracking?.finish({
      status: 'running',
      step: 'The worker restarted during the run; it will be picked up again.',
    });
    throw err;
  }
  if (err.code === 'cancelled') {
    await closeCheck('cancelled', 'Stopped on request.');
    await tracking?.finish({
      status: 'cancelled',
      durationMs: Date.now() - started,
      detail: 'Stopped on request. Nothing was pushed by this run.',
    });
    return { status: 'cancelled', reason: message };
  }
  if (err.code === 'patch_rejected') {
    await closeCheck('refused', 'The change was not pushed (see the tracking comment).');
    await tracking?.finish({
      status: 'refused',
      durationMs: Date.now() - started,
      // The findings name paths the agent chose (`.github/@org/team.yml`, `<img …>`): inert.
      detail: `The change was not pushed:\n${message
        .split('\n')
        .map((l) => `- ${inertInline(l, 500)}`)
        .join('\n')}`,
    });
    return { status: 'refused', reason: message };
  }
  const willRetry = err.retryable && !target.finalAttempt;
  target.log.warn({ err, code: err.code, willRetry, jobId: target.jobId }, 'Flow failed');
  await closeCheck(
    'failed',
    willRetry ? `Interrupted (${err.code}); it will be retried.` : publicFailureText(err, target),
  );
  await tracking?.finish({
    status: willRetry ? 'running' : 'failed',
    durationMs: Date.now() - started,
    detail: willRetry
      ? `A temporary problem interrupted the run (${err.code}); it will be retried.`
      : publicFailureText(err, target),
  });
  throw err;
}

/**
 * What a failed run says in public: the code and where the operator looks. Error text
 * carries host paths, engine and model errors and stack text (issue 14 item 8), so it
 * stays in the log; only a message written for the person who asked
 * (`details.publicMessage`, e.g. "Someone pushed to the branch") is shown, inert.
 */
function publicFailureText(err: PullwrightError, target: ReportTarget): string {
  const own = err.details.publicMessage;
  const told = typeof own === 'string' ? ` ${inertMarkdown(redactText(own, target.secrets), 1_000)}` : '';
  return `The run failed (${err.code}).${told} The operator can find the details in the worker log under job ${inertInline(target.jobId, 200)}.`;
}
