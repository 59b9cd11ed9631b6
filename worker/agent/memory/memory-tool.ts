import { z } from 'zod';
import type { Tool } from '../tool.js';
import { defineTool, toolError } from '../tools/define-tool.js';
import {
  applyMemoryUpdate,
  emptyMemory,
  MEMORY_LIMITS,
  memoryBytes,
  renderMemory,
} from './session-memory.js';

const Line = z.string().min(1).max(MEMORY_LIMITS.item);

export const MemoryInput = z.strictObject({
  understanding: z
    .string()
    .max(MEMORY_LIMITS.understanding)
    .optional()
    .describe(
      'What the task is and what done looks like, as you understand it now. Replaces the earlier text.',
    ),
  decisions: z
    .array(z.strictObject({ decision: Line, reason: Line }))
    .max(MEMORY_LIMITS.decisions)
    .optional()
    .describe(
      'Decisions to add, each with its reason (kept across runs, so a later run does not reopen them).',
    ),
  progress: z
    .array(Line)
    .max(MEMORY_LIMITS.progress)
    .optional()
    .describe('Progress lines to add: what is done and verified, facts learned (commands, test results).'),
  files_touched: z
    .array(z.string().min(1).max(300))
    .max(MEMORY_LIMITS.filesTouched)
    .optional()
    .describe('Paths to add (files you edit are added for you).'),
  open_questions: z
    .array(Line)
    .max(MEMORY_LIMITS.openQuestions)
    .optional()
    .describe('The open questions now. Replaces the earlier list ([] clears it).'),
  next_steps: z
    .array(Line)
    .max(MEMORY_LIMITS.nextSteps)
    .optional()
    .describe('What is left to do, in order. Replaces the earlier list.'),
});
export type MemoryInput = z.infer<typeof MemoryInput>;

/**
 * The `memory` tool: the agent's structured notes on this issue or pull request. They
 * survive compaction and are given to every later run on the same issue/PR, so record
 * what a colleague picking the work up would need. A call with no fields shows the memory.
 * The tool only computes the new memory; the loop keeps it (the `memory` effect).
 */
export function createMemoryTool(): Tool<MemoryInput> {
  return defineTool({
    name: 'memory',
    description: `Your session memory for this issue or pull request: structured notes that survive context compaction and are given to every later run on it (a follow-up, a review round, a CI repair). Keep it current as you work: your understanding of the task, decisions with their reasons, progress, open questions and next steps. understanding, open_questions and next_steps replace; decisions, progress and files_touched add. Call with no fields to read it. Capped at ${MEMORY_LIMITS.bytes / 1024} KiB: keep entries short.`,
    input: MemoryInput,
    async run(input, ctx) {
      const current = ctx.memory ?? emptyMemory();
      const applied = applyMemoryUpdate(current, {
        understanding: input.understanding,
        decisions: input.decisions,
        progress: input.progress,
        filesTouched: input.files_touched,
        openQuestions: input.open_questions,
        nextSteps: input.next_steps,
      });
      if (!applied.ok) return toolError(applied.error);
      const shown = renderMemory(applied.memory) || '(empty)';
      const note =
        applied.dropped > 0 ? `\n(${applied.dropped} oldest entries dropped to stay within the caps)` : '';
      return {
        content: `Memory (${memoryBytes(applied.memory)} of ${MEMORY_LIMITS.bytes} bytes):\n${shown}${note}`,
        isError: false,
        effect: { kind: 'memory', memory: applied.memory },
      };
    },
  });
}

/**
 * Adds the memory tool to a tool list that lacks it, just before `finish` (the list's
 * order is part of the cached prefix, so it is the same in every run).
 */
export function withMemoryTool(tools: Tool[]): Tool[] {
  if (tools.some((t) => t.name === 'memory')) return tools;
  const at = tools.findIndex((t) => t.name === 'finish');
  const memory = createMemoryTool() as Tool;
  return at < 0 ? [...tools, memory] : [...tools.slice(0, at), memory, ...tools.slice(at)];
}
