import type { Task } from '../../src/domain/task.js';
import type { Logger } from '../../src/logger.js';
import { createRunRecorder } from '../run-record/run-recorder.js';
import { PhaseTimings } from '../session/phase-timings.js';
import { refusalOf } from './authorize-task.js';
import type { FlowContext, FlowDeps, FlowOutcome } from './flow-context.js';
import { inertInline } from './inert-markdown.js';
import { planMode, trackingTitleOf } from './modes/index.js';
import { isPlan, type ModeOutcome } from './modes/mode.js';
import { checkBudgetBeforeRun } from './monthly-budget-gate.js';
import { openTracking } from './open-tracking.js';
import type { QuestionState } from './questions.js';
import { recordPush } from './record-push.js';
import { type ReportTarget, reportFailure, reportOutcome } from './report-outcome.js';
import { runPlan } from './run-plan.js';

export type { FlowDeps, FlowOutcome, FlowStatus } from './flow-context.js';
export { trackingKeyOf } from './open-tracking.js';

/**
 * One job, from a queued Task to a pull request: prepare (repository client,
 * requester re-check, settings, tracking comment) → the task kind's mode gathers
 * and plans → the one agent session → the mode delivers → report. Only this
 * host-side code talks to GitHub and pushes; the agent edits files in a sandbox
 * and its change comes back as a patch.
 */
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
  const { task, deps, log } = options;
  const timings = new PhaseTimings();
  const secrets: string[] = [];
  // The run record (issue 16): everything the run pages show, redacted with the same secrets.
  const recorder = createRunRecorder({
    store: deps.runStore,
    ledger: deps.costLedger,
    task,
    jobId: options.jobId,
    secrets,
    publicUrl: deps.runPages?.publicUrl,
    log,
  });
  const report: ReportTarget = {
    tracking: null,
    checkRun: null,
    started: timings.startedAt,
    secrets,
    log,
    jobId: options.jobId,
  };
  let finished: FlowOutcome | null = null;
  try {
    const github = await deps.github.forRepo(task.installationId, task.repo);
    report.secrets.push(github.token);
    timings.end('token');
    const defaultBranch = await github.getDefaultBranch();
    const config = await deps.loadRepoConfig(github);
    // Checked again here, not only at intake: a job can wait in the queue (slots, retries)
    // after the requester lost write access, and the intake's answer may be a cached one.
    const refusal = await refusalOf({
      task,
      github,
      maintenanceTaskIds: () => config.maintenance.map((m) => m.id),
      log,
    });
    if (refusal) {
      finished = { status: 'refused', reason: refusal };
      return finished;
    }
    const title = trackingTitleOf(task);
    recorder.started({ title, instruction: task.trigger.instruction ?? null });
    const overBudget = await checkBudgetBeforeRun({
      ledger: deps.costLedger,
      installationId: task.installationId,
      repo: `${task.repo.owner}/${task.repo.name}`,
      installationLimitUsd: deps.runPages?.maxMonthlyCostUsd ?? null,
      config,
    });
    let openQuestion: QuestionState | null = null;
    if (task.kind !== 'maintenance' && title !== null) {
      const opened = await openTracking({
        task,
        title,
        github,
        botLogin: deps.bot.login,
        log,
        onCreated: (trackingCommentUrl) => recorder.links({ trackingCommentUrl }),
      });
      report.tracking = opened.tracking;
      openQuestion = opened.openQuestion;
      if (recorder.url) report.tracking.update({ runUrl: recorder.url });
      if (config.problems.length > 0) report.tracking.update({ detail: configProblemsText(config.problems) });
    }
    if (overBudget) {
      await report.tracking?.finish({
        status: 'refused',
        durationMs: Date.now() - report.started,
        detail: overBudget,
      });
      finished = { status: 'refused', reason: 'monthly budget' };
      return finished;
    }
    timings.end('prepare');

    const ctx: FlowContext = {
      ...options,
      github,
      defaultBranch,
      config,
      tracking: report.tracking,
      recorder,
      checkRun: null,
      started: report.started,
      secrets: report.secrets,
      timings,
    };
    const planned = await planMode(ctx);
    timings.end('gather');
    let outcome: ModeOutcome = planned as ModeOutcome;
    if (isPlan(planned)) {
      try {
        outcome = await runPlan(ctx, planned, { title: title ?? task.kind, openQuestion });
      } finally {
        report.checkRun = ctx.checkRun;
      }
    }
    timings.end('deliver');
    // A PR a run opened is known only now; pushes to an existing PR were recorded at once (pushRun).
    if (task.kind === 'implement' || task.kind === 'maintenance') await recordPush(ctx, outcome, true);
    const flow = await reportOutcome(report, outcome);
    finished = flow;
    log.info(
      { status: flow.status, pr: flow.prNumber, durationMs: Date.now() - report.started },
      'Flow finished',
    );
    return flow;
  } catch (raw) {
    finished = { status: 'failed', reason: 'error' };
    finished = await reportFailure(
      { ...report, signal: options.signal, finalAttempt: options.finalAttempt },
      raw,
    );
    return finished;
  } finally {
    recorder.finish({
      status: finished?.status ?? 'failed',
      reason: finished?.reason,
      prNumber: finished?.prNumber,
      prUrl: finished?.prUrl,
      agent: finished?.agent,
    });
    // One line per run with each phase's duration (renovate's timing splits); bench/e2e reads it.
    timings.end('finish');
    log.info({ jobId: options.jobId, ...timings.summary() }, 'Run timings');
  }
}

function configProblemsText(problems: string[]): string {
  return `\`.github/pullwright.yml\` has problems, so defaults are used for them:\n${problems
    .map((p) => `- ${inertInline(p, 300)}`)
    .join('\n')}`;
}
