import { z } from 'zod';
import type { Logger } from '../../../src/logger.js';
import type { Model, Usage } from '../../model/model.js';
import type { PriceTable } from '../../model/pricing.js';
import { type Budgets, runAgent } from '../loop/run-agent.js';
import type { ToolPolicy } from '../permissions/tool-policy.js';
import type { Tool, ToolResult } from '../tool.js';
import type { OutputCaps } from '../tools/cap-output.js';
import { defineTool } from '../tools/define-tool.js';
import type { HarnessEventSink } from '../tools/harness-events.js';
import { createReadOnlyTools } from './read-only-tools.js';
import { SUBAGENT_SYSTEM_PROMPT, subagentTaskMessage } from './subagent-prompt.js';

export const DelegateInput = z.strictObject({
  question: z
    .string()
    .min(10)
    .max(4_000)
    .describe(
      'One bounded, self-contained question, with what you already know (names, paths). E.g. "Where is the retry delay configured and which tests cover it?"',
    ),
});
export type DelegateInput = z.infer<typeof DelegateInput>;

/** A subagent's own budget: small, so a question stays a question. */
export const DEFAULT_SUBAGENT_BUDGETS: Budgets = {
  maxTurns: 12,
  maxCostUsd: 0.5,
  maxWallMs: 3 * 60_000,
  maxInputTokens: 300_000,
  maxOutputTokens: 12_000,
};

export interface DelegateToolOptions {
  model: Model;
  /** The run's policy: subagents obey it as the agent does. */
  policy: ToolPolicy;
  /** SUBAGENT_SHELL: a read-only shell besides view/search/list. */
  shell: boolean;
  /** The main run's transcript; each subagent writes `<name>.subagent-<n>.jsonl` beside it. */
  transcriptPath: string;
  secrets: string[];
  log: Logger;
  budgets?: Partial<Budgets>;
  prices?: PriceTable;
  /** Cap on the report entering the main context. */
  maxReportChars?: number;
  onEvent?: HarnessEventSink;
}

function toUsage(u: { input: number; output: number; cacheRead: number; cacheWrite: number }): Usage {
  return { input: u.input, output: u.output, cacheRead: u.cacheRead, cacheWrite: u.cacheWrite };
}

function subagentTranscript(main: string, n: number): string {
  return main.endsWith('.jsonl')
    ? `${main.slice(0, -'.jsonl'.length)}.subagent-${n}.jsonl`
    : `${main}.subagent-${n}.jsonl`;
}

/**
 * `delegate`: the agent hands a bounded question to a subagent, a loop of its own (the same
 * `runAgent`) with a fresh context, its own small budget and read-only tools, in the same
 * sandbox. Only the report comes back into the main context; its usage and cost come back
 * as `ToolResult.usage` / `costUsd`, which the loop adds to the run's budgets. Calls are
 * `concurrent`: several in one model turn run at the same time. The subagent's tools have
 * no `delegate` (depth one) and, like its system prompt, never change, so every subagent
 * request reads the same cached prefix.
 */
export function createDelegateTool(options: DelegateToolOptions): Tool<DelegateInput> {
  const budgets: Budgets = { ...DEFAULT_SUBAGENT_BUDGETS, ...options.budgets };
  const maxReport = options.maxReportChars ?? 6_000;
  const tools = createReadOnlyTools({
    caps: { maxBytes: 10_000, maxLines: 300 } satisfies OutputCaps,
    shell: options.shell,
    policy: options.policy,
  });
  let started = 0;
  const tool = defineTool({
    name: 'delegate',
    description: [
      'Hands one bounded, read-only question to a subagent that explores the repository in its own fresh context',
      '(view, search, list_files) and returns only a short report, so the exploration does not fill your context.',
      'Use it for questions like "where is X configured", "which tests cover Y", "summarise how module Z works".',
      'Several delegate calls in one response run in parallel. The subagent cannot edit files and sees nothing of',
      'your conversation: put everything it needs in the question. Its report is a lead to check, not a verified fact.',
    ].join(' '),
    input: DelegateInput,
    async run(input, ctx): Promise<ToolResult> {
      const id = ++started;
      const transcriptPath = subagentTranscript(options.transcriptPath, id);
      const t0 = Date.now();
      const log = ctx.log.child({ subagent: id });
      const result = await runAgent({
        model: options.model,
        sandbox: ctx.sandbox,
        tools,
        system: SUBAGENT_SYSTEM_PROMPT,
        firstUserMessage: subagentTaskMessage(input.question, budgets.maxTurns),
        budgets,
        signal: ctx.signal,
        log,
        transcriptPath,
        secrets: options.secrets,
        prices: options.prices,
        toolTimeoutMs: budgets.maxWallMs,
        maxToolResultChars: 12_000,
      });
      const usage = toUsage(result.usage);
      const costUsd = result.usage.costUsd;
      let report = result.summary.trim();
      if (report.length > maxReport)
        report = `${report.slice(0, maxReport)}\n[... report cut at ${maxReport} characters ...]`;
      const finished = result.outcome === 'succeeded' || result.outcome === 'no-changes';
      try {
        options.onEvent?.({
          type: 'subagent',
          id,
          question: input.question.slice(0, 500),
          outcome: result.limit ? `limit:${result.limit}` : result.outcome,
          turns: result.turns,
          usage,
          costUsd,
          durationMs: Date.now() - t0,
          reportChars: report.length,
          transcriptPath,
        });
      } catch (err) {
        log.warn({ err }, 'Subagent event handler failed');
      }
      const header = finished
        ? `Subagent ${id} report (${result.turns} turns):`
        : `Subagent ${id} stopped before finishing (${result.limit ? `${result.limit} budget reached` : result.outcome}, ${result.turns} turns); what it had:`;
      return {
        content: `${header}\n${report || '(no report)'}`,
        isError: !finished && report === '',
        usage,
        costUsd,
      };
    },
  });
  return Object.assign(tool, { concurrent: true });
}
