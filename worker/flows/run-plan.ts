import { startCheckRun } from './check-run.js';
import type { FlowContext } from './flow-context.js';
import type { ModeOutcome, ModePlan } from './modes/mode.js';
import { answerOf, askedOutcome, previousRunOf, type QuestionState } from './questions.js';
import { runModeSession } from './run-mode-session.js';

/**
 * A mode's plan, run: the earlier run's open question joins the task when a writer's
 * mention answers it (questions.ts), the `Pullwright` check run starts on the head
 * (check-run.ts), the one agent session runs, and the mode delivers, unless the agent
 * stopped with a question: then nothing is delivered and the question is the outcome.
 */
export async function runPlan(
  ctx: FlowContext,
  plan: ModePlan,
  input: { title: string; openQuestion: QuestionState | null },
): Promise<ModeOutcome> {
  const answer = answerOf(ctx.task);
  if (input.openQuestion && answer) {
    plan.agentTask = { ...plan.agentTask, previous: previousRunOf(input.openQuestion, answer) };
    ctx.tracking?.update({
      notes: [
        ...(ctx.tracking.current.notes ?? []),
        `Resuming after the earlier question, with @${ctx.task.trigger.actor}'s answer.`,
      ],
    });
  }
  ctx.checkRun = await startCheckRun({
    github: ctx.github,
    enabled: ctx.config.checkRun,
    headSha: plan.headSha,
    title: input.title,
    jobId: ctx.jobId,
    log: ctx.log,
  });
  const run = await runModeSession(ctx, plan);
  if (run.agent.outcome === 'needs_input') return askedOutcome(run);
  const outcome = await plan.deliver(run);
  return { ...outcome, files: outcome.files ?? (outcome.commitSha ? run.patch.paths : undefined) };
}
