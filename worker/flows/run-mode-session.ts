import { join } from 'node:path';
import { PullwrightError } from '../../src/errors.js';
import { JOB_LABEL } from '../sandbox/sandbox-labels.js';
import { checkCancelled } from '../session/check-cancelled.js';
import { agentNetworkOf } from '../session/early-sandbox.js';
import {
  type EarlyAgentSandbox,
  runAgentSession,
  type SessionEvent,
  startAgentSandbox,
} from '../session/run-agent-session.js';
import type { FlowContext, SessionRun } from './flow-context.js';
import type { ModePlan } from './modes/mode.js';
import type { TrackingComment, TrackingState } from './tracking-comment.js';

const PHASE_STEPS: Record<Extract<SessionEvent, { type: 'phase' }>['phase'], Partial<TrackingState>> = {
  setup: { phase: 'sandbox', step: 'Running the setup command' },
  sandbox: { phase: 'sandbox', step: 'Starting the sandbox' },
  agent: { phase: 'agent', step: 'The agent is working' },
  verify: { phase: 'verify', step: 'Running the verify commands' },
};

/** The session's progress, as tracking-comment edits. */
function trackingUpdateOf(
  event: SessionEvent,
  tracking: TrackingComment | null,
): Partial<TrackingState> | null {
  switch (event.type) {
    case 'phase':
      return PHASE_STEPS[event.phase];
    case 'setup-failed':
      return { detail: `The setup command exited with ${event.exitCode ?? 'a kill'}; continuing.` };
    case 'plan':
      return { plan: event.items };
    case 'tool':
      return { step: `${event.name}: ${event.summary}` };
    case 'status':
      return { step: event.message };
    case 'environment': {
      const note =
        event.report.source === 'snapshot'
          ? 'Environment restored from a snapshot (setup skipped).'
          : event.report.source === 'setup' && event.report.reason === 'secret'
            ? "Setup's result contained a setup secret and was not kept."
            : null;
      return note ? { notes: [...(tracking?.current.notes ?? []), note] } : null;
    }
    default:
      return null;
  }
}

/** Fetches the mode's start ref into a fresh working copy and runs the one agent session on it. */
export async function runModeSession(ctx: FlowContext, plan: ModePlan): Promise<SessionRun> {
  const { deps, task, signal, tracking, timings } = ctx;
  checkCancelled(signal);
  tracking?.update({ phase: 'workspace', step: 'Fetching the repository' });
  const labels = { [JOB_LABEL]: ctx.jobId };
  // Issue 17: the agent's container was started ahead of the run (the pool, on an empty
  // run folder the checkout is then written into) or starts while the repository is fetched
  // and checked out; the session uses it and disposes it (or it is disposed here when the
  // fetch fails).
  const pooled = deps.workspaces.newRunFolder
    ? ((await deps.agentPool?.take({ network: agentNetworkOf(deps.session, ctx.config) })) ?? null)
    : null;
  let early: EarlyAgentSandbox | undefined = pooled?.early;
  // A pooled container was made before this job existed, so it carries the pool label, not
  // the job's: this line (jobId bound) is what ties it to the job.
  if (pooled)
    void pooled.early.sandbox.then(
      (box) => ctx.log.info({ sandboxId: box.id }, 'Agent sandbox taken from the pool for this job'),
      () => undefined,
    );
  const workspace = await deps.workspaces
    .prepare({
      repo: task.repo,
      token: ctx.github.token,
      ref: plan.startRef,
      refs: plan.fetchRefs,
      jobId: ctx.jobId,
      ...(pooled
        ? { workDir: pooled.workDir }
        : {
            onWorkDir: (workDir: string) => {
              early = startAgentSandbox(deps.session, { workDir, repoConfig: ctx.config, labels });
            },
          }),
    })
    .catch(async (err) => {
      await early?.dispose();
      throw err;
    });
  timings.end('workspace');
  try {
    const session = await runAgentSession(deps.session, {
      workspace,
      task: plan.agentTask,
      repoConfig: ctx.config,
      // Setup snapshots are kept per installation and repository (issue 17).
      scope: {
        installationId: task.installationId,
        repo: `${task.repo.owner}/${task.repo.name}`,
        ...(task.repo.id !== undefined ? { repoId: task.repo.id } : {}),
        setupCacheKey: ctx.config.setupCacheKey,
      },
      labels,
      earlySandbox: early,
      signal,
      log: ctx.log,
      transcriptPath: join(deps.runDir, `${ctx.jobId.replace(/[^A-Za-z0-9_.-]/g, '_')}.jsonl`),
      secrets: ctx.secrets,
      timings,
      onEvent: (event) => {
        const update = trackingUpdateOf(event, tracking);
        if (update) tracking?.update(update);
        ctx.checkRun?.onEvent(event);
        ctx.recorder.onSession(event);
      },
    });
    ctx.recorder.session(session);
    if (session.agent.outcome === 'cancelled') {
      checkCancelled(signal);
      throw new PullwrightError('cancelled', 'The agent run was cancelled.');
    }
    tracking?.update({ plan: session.agent.plan });
    return { ...session, baseSha: workspace.baseSha };
  } finally {
    await workspace.dispose();
  }
}
