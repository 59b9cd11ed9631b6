import { z } from 'zod';
import { PlanStatus, type Tool } from '../tool.js';
import { defineTool, toolError } from './define-tool.js';

export const UpdatePlanInput = z.strictObject({
  items: z
    .array(
      z.strictObject({
        step: z.string().min(1).max(500),
        status: z.enum(PlanStatus),
      }),
    )
    .min(1)
    .max(50)
    .describe('The whole plan, in order; each call replaces the previous plan.'),
});
export type UpdatePlanInput = z.infer<typeof UpdatePlanInput>;

export const FinishInput = z.strictObject({
  summary: z
    .string()
    .min(1)
    .max(20_000)
    .describe('Markdown for the pull request body: what changed and why, and how it was verified.'),
  threads: z
    .array(
      z.strictObject({
        thread: z.number().int().min(1).max(500).describe('The review thread number from the task.'),
        reply: z.string().min(1).max(2_000),
        status: z
          .enum(['addressed', 'declined'])
          .optional()
          .describe(
            'addressed: you changed the code for it and verified the change; declined: you disagree or could not make or verify it (the thread stays open with your reply).',
          ),
      }),
    )
    .max(500)
    .optional()
    .describe(
      'Review work only: one short reply per review thread, by its number: what you changed for it, or why you changed nothing. Each is posted in its thread.',
    ),
  needs_input: z
    .strictObject({
      question: z
        .string()
        .min(1)
        .max(4_000)
        .describe(
          'The question, answerable by the person who asked for the task; say what you found and what choices you see.',
        ),
    })
    .optional()
    .describe(
      'Only when you cannot go on without an answer from a person (an ambiguous requirement, a product decision): the run stops and the question is posted; the answer starts a new run with your memory. Do not use it for things you can find out yourself.',
    ),
});
export type FinishInput = z.infer<typeof FinishInput>;

const MARK: Record<PlanStatus, string> = { pending: '[ ]', in_progress: '[~]', completed: '[x]' };

export function createUpdatePlanTool(): Tool<UpdatePlanInput> {
  return defineTool({
    name: 'update_plan',
    description:
      'Records your plan as a checklist shown to the people following the task. Send the whole list every time, with at most one step in_progress; mark steps completed as you go.',
    input: UpdatePlanInput,
    async run(input) {
      const active = input.items.filter((i) => i.status === 'in_progress').length;
      if (active > 1) return toolError(`${active} steps are in_progress; keep at most one in_progress.`);
      const rendered = input.items.map((i) => `${MARK[i.status]} ${i.step}`).join('\n');
      return {
        content: `Plan updated:\n${rendered}`,
        isError: false,
        effect: { kind: 'plan', items: input.items },
      };
    },
  });
}

export function createFinishTool(): Tool<FinishInput> {
  return defineTool({
    name: 'finish',
    description:
      'Ends the task. Call it once the work is done and verified (or cannot be done), with a summary for the pull request body: what changed and why, and how you verified it (or why you stopped). The run ends after this call.',
    input: FinishInput,
    async run(input) {
      return {
        content: 'Finished.',
        isError: false,
        effect: {
          kind: 'finish',
          summary: input.summary,
          threads: input.threads,
          ...(input.needs_input ? { needsInput: { question: input.needs_input.question } } : {}),
        },
      };
    },
  });
}
