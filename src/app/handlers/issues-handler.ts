import { actOnTrigger } from '../act-on-trigger.js';
import { defineHandler } from '../delivery-dispatch.js';
import type { IntakeContext } from '../intake-context.js';
import { matchIssueEvent } from '../trigger-matching.js';
import { approvalOf, IssuesEvent, refOf } from '../webhook-payloads.js';

/** Assigning the app starts a run; unassigning it or closing the issue stops one. */
export function createIssuesHandler(ctx: IntakeContext) {
  return defineHandler({
    events: ['issues.assigned', 'issues.unassigned', 'issues.closed'],
    schema: IssuesEvent,
    async handle(p, delivery, log) {
      const decision = matchIssueEvent(
        { action: p.action, number: p.issue.number, assignee: p.assignee, sender: p.sender },
        { botLogin: ctx.settings.botLogin, phrases: [] },
      );
      return actOnTrigger(ctx, decision, {
        installationId: p.installation.id,
        repo: refOf(p.repository),
        sender: p.sender,
        delivery,
        reactOn: { kind: 'issue', number: p.issue.number },
        config: null,
        log,
        // Closing makes any run moot, whoever closes; starting and stopping need write access.
        requireAuthorization: decision.action !== 'cancel' || decision.reason !== 'closed',
        approved: approvalOf(p.issue),
      });
    },
  });
}
