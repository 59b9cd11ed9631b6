import { PullwrightError, toPullwrightError } from '../../../src/errors.js';
import { redactText } from '../../../src/logger.js';
import { addUsage, type ToolResultBlock, type ToolUseBlock } from '../../model/model.js';
import { costOf } from '../../model/pricing.js';
import { memoryBytes, touchedPath, withFileTouched } from '../memory/session-memory.js';
import type { ThreadReply, ToolResult } from '../tool.js';
import type { Run } from './run-state.js';
import { stableStringify } from './stable-json.js';
import { capText } from './truncate.js';

/** What a batch of tool calls asked of the run besides their results. */
export interface ExecutedTools {
  /** One result per call, in the order the model made them. */
  results: ToolResultBlock[];
  finish?: { summary: string; threads?: ThreadReply[]; needsInput?: { question: string } };
}

function toolSummary(name: string, input: unknown): string {
  const s = stableStringify(input);
  return `${name} ${s.length > 160 ? `${s.slice(0, 157)}...` : s}`;
}

/** Races a promise against an abort signal, so a tool that ignores its signal cannot hold the run. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new PullwrightError('cancelled', 'Aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new PullwrightError('cancelled', 'Aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Validates and runs one call; every failure comes back as an error result the agent can read. */
async function runTool(run: Run, use: ToolUseBlock): Promise<ToolResult> {
  const { ctx } = run;
  const tool = ctx.toolsByName.get(use.name);
  if (!tool)
    return {
      content: `Unknown tool "${use.name}". Available: ${[...ctx.toolsByName.keys()].join(', ')}`,
      isError: true,
    };
  const parsed = tool.input.safeParse(use.input);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`)
      .join('; ');
    return { content: `Invalid input for ${use.name}: ${issues}`, isError: true };
  }
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.toolTimeoutMs)]);
  try {
    return await untilAborted(
      tool.run(parsed.data, {
        sandbox: ctx.options.sandbox,
        signal,
        log: ctx.log,
        memory: run.state.memory,
      }),
      signal,
    );
  } catch (err) {
    if (ctx.signal.aborted) return { content: 'The tool call was aborted.', isError: true };
    if (signal.aborted)
      return { content: `The tool call timed out after ${ctx.toolTimeoutMs} ms.`, isError: true };
    // Tools report failures as data; a throw is a tool bug, still turned into a result the agent can read.
    const e = toPullwrightError(err);
    ctx.log.warn({ tool: use.name, code: e.code }, 'Tool threw');
    return { content: `The tool failed: ${e.message}`, isError: true };
  }
}

/** Replaces the run's memory (when it changed): transcript line and event. */
function setMemory(run: Run, memory: Run['state']['memory']): void {
  const { ctx, state } = run;
  if (memory === state.memory) return;
  state.memory = memory;
  const bytes = memoryBytes(memory);
  ctx.transcript.write({ type: 'memory', memory, bytes });
  ctx.emit({ type: 'memory', memory, bytes });
}

/**
 * Runs a response's tool calls one after another (a `finish` among them last, after
 * the others' work is done), records each in the transcript and as an event, and
 * applies plan updates. A stop (cancel, wall time) between or during calls surfaces
 * as the run signal's abort, which the run turns into its ending.
 */
export async function executeTools(run: Run, uses: ToolUseBlock[]): Promise<ExecutedTools> {
  const { ctx, state } = run;
  const ordered = [...uses.filter((u) => u.name !== 'finish'), ...uses.filter((u) => u.name === 'finish')];
  const byId = new Map<string, ToolResultBlock>();
  let finish: ExecutedTools['finish'];
  for (const use of ordered) {
    ctx.signal.throwIfAborted();
    const t0 = Date.now();
    const result = await runTool(run, use);
    const durationMs = Date.now() - t0;
    // A subagent's model usage counts like the run's own: budgets, cost, transcript.
    const toolCost = result.usage
      ? (result.costUsd ?? costOf(result.usage, ctx.model.name, ctx.options.prices))
      : undefined;
    if (result.usage) {
      state.usage = addUsage(state.usage, result.usage);
      state.costUsd += toolCost ?? 0;
    }
    ctx.signal.throwIfAborted();
    const body = capText(redactText(result.content, ctx.secrets), ctx.maxResultChars);
    byId.set(use.id, {
      type: 'tool_result',
      tool_use_id: use.id,
      content: body || '(no output)',
      ...(result.isError ? { is_error: true } : {}),
    });
    ctx.transcript.write({
      type: 'tool',
      turn: state.turns,
      id: use.id,
      name: use.name,
      input: use.input,
      durationMs,
      resultChars: result.content.length,
      isError: result.isError,
      ...(result.usage ? { usage: result.usage, costUsd: toolCost } : {}),
    });
    ctx.emit({
      type: 'tool',
      name: use.name,
      summary: toolSummary(use.name, use.input),
      durationMs,
      isError: result.isError,
      ...(result.usage ? { usage: result.usage, costUsd: toolCost } : {}),
    });
    const touched = result.isError ? null : touchedPath(use.name, use.input);
    if (touched) setMemory(run, withFileTouched(state.memory, touched));
    if (!result.isError && result.effect?.kind === 'memory') setMemory(run, result.effect.memory);
    if (!result.isError && result.effect?.kind === 'plan') {
      state.plan = result.effect.items;
      ctx.transcript.write({ type: 'plan', items: state.plan });
      ctx.emit({ type: 'plan', items: state.plan });
    }
    if (!result.isError && result.effect?.kind === 'finish')
      finish = {
        summary: result.effect.summary,
        threads: result.effect.threads,
        ...(result.effect.needsInput ? { needsInput: result.effect.needsInput } : {}),
      };
  }
  return { results: uses.map((u) => byId.get(u.id) as ToolResultBlock), finish };
}
