import { defineHandler, type HandlerSpec } from '../delivery-dispatch.js';
import { isFailingConclusion, queueRepairForFailedHead } from '../follow-ups.js';
import type { IntakeContext } from '../intake-context.js';
import { CheckSuiteEvent, refOf, StatusEvent, WorkflowRunEvent } from '../webhook-payloads.js';

/**
 * The three ways GitHub reports CI on a commit: a check suite completed (any app's,
 * GitHub Actions included), a workflow run completed (Actions), and a legacy commit
 * status (external CI). Each red result goes to the same decision
 * (`queueRepairForFailedHead`), which repairs only heads Pullwright pushed; the
 * per-head claim makes the three reports of one push a single repair.
 */
export function createCiResultHandlers(ctx: IntakeContext): HandlerSpec[] {
  const pullsOf = (list: { number: number; head?: { sha?: string } }[]) =>
    list.map((p) => ({ number: p.number, ...(p.head?.sha ? { headSha: p.head.sha } : {}) }));
  return [
    defineHandler({
      events: ['check_suite.completed'],
      schema: CheckSuiteEvent,
      async handle(p, _delivery, log) {
        const suite = p.check_suite;
        // Pullwright's own check run lives in its own suite: its outcome is the run's, not CI's.
        if (suite.app?.slug !== undefined && suite.app.slug === ctx.settings.appSlug) return 'ignored';
        if (!isFailingConclusion(suite.conclusion)) return 'ignored';
        return queueRepairForFailedHead(ctx, {
          installationId: p.installation.id,
          repo: refOf(p.repository),
          headSha: suite.head_sha,
          via: 'check_suite',
          pulls: pullsOf(suite.pull_requests),
          log,
        });
      },
    }),
    defineHandler({
      events: ['workflow_run.completed'],
      schema: WorkflowRunEvent,
      async handle(p, _delivery, log) {
        const run = p.workflow_run;
        if (!isFailingConclusion(run.conclusion)) return 'ignored';
        return queueRepairForFailedHead(ctx, {
          installationId: p.installation.id,
          repo: refOf(p.repository),
          headSha: run.head_sha,
          via: 'workflow_run',
          pulls: pullsOf(run.pull_requests),
          log,
        });
      },
    }),
    defineHandler({
      events: ['status'],
      schema: StatusEvent,
      async handle(p, _delivery, log) {
        if (!isFailingConclusion(p.state)) return 'ignored';
        return queueRepairForFailedHead(ctx, {
          installationId: p.installation.id,
          repo: refOf(p.repository),
          headSha: p.sha,
          via: 'status',
          pulls: [],
          log,
        });
      },
    }),
  ];
}
