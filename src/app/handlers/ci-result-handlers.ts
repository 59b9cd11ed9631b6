import type { Logger } from '../../logger.js';
import { defineHandler, type HandlerSpec } from '../delivery-dispatch.js';
import type { HandledDeliveryOutcome } from '../delivery-outcome.js';
import { continueAfterRerun, isFailingConclusion, queueRepairForFailedHead } from '../follow-ups.js';
import type { IntakeContext } from '../intake-context.js';
import { CheckSuiteEvent, refOf, StatusEvent, WorkflowRunEvent } from '../webhook-payloads.js';

type PullList = { number: number; head?: { sha?: string } }[];
type Base = { installation: { id: number }; repository: Parameters<typeof refOf>[0] };

/**
 * The three ways GitHub reports CI on a commit: a check suite completed (any app's,
 * GitHub Actions included), a workflow run completed (Actions), and a legacy commit
 * status (external CI). Each red result goes to the same decision
 * (`queueRepairForFailedHead`), which repairs only heads Pullwright pushed; the
 * per-head claim makes the three reports of one push a single repair.
 */
export function createCiResultHandlers(ctx: IntakeContext): HandlerSpec[] {
  const red = (
    p: Base,
    result: { conclusion: string | null | undefined; headSha: string; pulls: PullList },
    via: string,
    log: Logger,
  ): Promise<HandledDeliveryOutcome> | HandledDeliveryOutcome => {
    if (!isFailingConclusion(result.conclusion)) return 'ignored';
    return queueRepairForFailedHead(ctx, {
      installationId: p.installation.id,
      repo: refOf(p.repository),
      headSha: result.headSha,
      via,
      pulls: result.pulls.map((pr) => ({
        number: pr.number,
        ...(pr.head?.sha ? { headSha: pr.head.sha } : {}),
      })),
      log,
    });
  };
  return [
    defineHandler({
      events: ['check_suite.completed'],
      schema: CheckSuiteEvent,
      async handle(p, _delivery, log) {
        const suite = p.check_suite;
        // Pullwright's own check run lives in its own suite: its outcome is the run's, not CI's.
        if (suite.app?.slug !== undefined && suite.app.slug === ctx.settings.appSlug) return 'ignored';
        const result = { conclusion: suite.conclusion, headSha: suite.head_sha, pulls: suite.pull_requests };
        return red(p, result, 'check_suite', log);
      },
    }),
    defineHandler({
      events: ['workflow_run.completed'],
      schema: WorkflowRunEvent,
      async handle(p, _delivery, log) {
        const run = p.workflow_run;
        if ((run.run_attempt ?? 1) > 1) {
          // A re-run Pullwright started to rule out a flaky check: its end continues that repair.
          const continued = await continueAfterRerun(ctx, {
            installationId: p.installation.id,
            repo: refOf(p.repository),
            headSha: run.head_sha,
            runId: run.id,
            runAttempt: run.run_attempt ?? 1,
            log,
          });
          if (continued !== 'ignored') return continued;
        }
        return red(
          p,
          { conclusion: run.conclusion, headSha: run.head_sha, pulls: run.pull_requests },
          'workflow_run',
          log,
        );
      },
    }),
    defineHandler({
      events: ['status'],
      schema: StatusEvent,
      async handle(p, _delivery, log) {
        return red(p, { conclusion: p.state, headSha: p.sha, pulls: [] }, 'status', log);
      },
    }),
  ];
}
