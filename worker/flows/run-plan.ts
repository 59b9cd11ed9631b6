import { loadTaskMemory, saveTaskMemory } from '../agent/memory/memory-carry.js';
import { startCheckRun } from './check-run.js';
import type { FlowContext } from './flow-context.js';
import type { ModeOutcome, ModePlan } from './modes/mode.js';
import { answerOf, askedOutcome, previousRunOf, type QuestionState } from './questions.js';
import { runModeSession } from './run-mode-session.js';

/**
 * A mode's plan, run: the or PR's session memory and, when a writer's mention
 * answers it, the earlier run's open question join the task (questions.ts); the
 * `Pullwright` check run starts on the head (check-run.ts); the one agent session runs;
 * the memory it ended with is stored; and the mode delivers, unless the agent stopped
 * with a question: then nothing is delivered and the question is the outcome.
 */
export async function runPlan(
  ctx: FlowContext,
  plan: ModePlan,
  input: { title: string; openQuestion: QuestionState | null },
): Promise<ModeOutcome> {
  const { task, deps } = ctx;
  const target =
    task.kind === 'maintenance'
      ? null
      : { installationId: task.installationId, repo: task.repo, number: task.number };
  const memory =
    target && deps.memoryStore ? await loadTaskMemory(deps.memoryStore, target, ctx.log) : undefined;
  if (memory) plan.agentTask = { ...plan.agentTask, memory };
  const answer = answerOf(task);
  if (input.openQuestion && answer) {
    plan.agentTask = { ...plan.agentTask, previous: previousRunOf(input.openQuestion, answer) };
    ctx.tracking?.update({
      notes: [
        ...(ctx.tracking.current.notes ?? []),
        `Resuming after the earlier question, with @${task.trigger.actor}'s answer.`,
      ],
    });
  }
  ctx.checkRun = await startCheckRun({
    github: ctx.github,
    enabled: ctx.config.checkRun,
    headSha: plan.headSha,
    title: input.title,
    jobId: ctx.jobId,
    detailsUrl: ctx.recorder.url ?? undefined,
    log: ctx.log,
  });
  const run = await runModeSession(ctx, plan);
  // Whatever the outcome (a question or a limit most of all), the notes help the next run.
  const save = (numbers: number[]) =>
    target && deps.memoryStore
      ? saveTaskMemory(
          deps.memoryStore,
          numbers.map((number) => ({ ...target, number })),
          run.agent.memory,
          ctx.log,
        )
      : null;
  await save([target?.number ?? 0]);
  if (run.agent.outcome === 'needs_input') return askedOutcome(run);
  const outcome = await plan.deliver(run);
  // The PR an implement run opened starts its first review round with the notes.
  if (outcome.prNumber !== undefined && outcome.prNumber !== target?.number) await save([outcome.prNumber]);
  if (outcome.prNumber !== undefined)
    ctx.recorder.delivered({ prNumber: outcome.prNumber, prUrl: outcome.prUrl, branch: outcome.branch });
  return { ...outcome, files: outcome.files ?? (outcome.commitSha ? run.patch.paths : undefined) };
}
