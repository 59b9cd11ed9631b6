import { PullwrightError, toPullwrightError } from '../../../src/errors.js';
import { redactText } from '../../../src/logger.js';
import { addUsage, type ToolResultBlock, type ToolUseBlock } from '../../model/model.js';
import { costOf } from '../../model/pricing.js';
import { memoryBytes, touchedPath, withFileTouched } from '../memory/session-memory.js';
import type { ThreadReply, ToolResult } from '../tool.js';
import type { Run } from './run-state.js';
import { stableStringify } from './stable-json.js';
import { capGiantOutput, capGiantView, capText } from './truncate.js';

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
        toolUseId: use.id,
        turn: run.state.turns,
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
 * Runs a response's tool calls in the model's order (a `finish` among them last, after
 * the others' work is done). Consecutive calls of tools marked `concurrent` (read-only
 * work: subagents, remote MCP tools) run together; every other call runs alone. Each
 * call is recorded in the transcript and as an event as it ends, and plan, memory and
 * finish effects are applied in the model's order. A stop (cancel, wall time) between
 * or during calls surfaces as the run signal's abort, which the run turns into its ending.
 */
export async function executeTools(run: Run, uses: ToolUseBlock[]): Promise<ExecutedTools> {
  const { ctx } = run;
  const ordered = [...uses.filter((u) => u.name !== 'finish'), ...uses.filter((u) => u.name === 'finish')];
  const byId = new Map<string, ToolResultBlock>();
  const state: { finish?: ExecutedTools['finish'] } = {};
  for (const group of concurrentGroups(run, ordered)) {
    ctx.signal.throwIfAborted();
    const done = await Promise.all(group.map((use) => runAndRecord(run, use)));
    ctx.signal.throwIfAborted();
    // Effects in the model's order, whatever order the calls ended in.
    for (const [i, use] of group.entries()) {
      const result = done[i] as ToolResult;
      byId.set(use.id, resultBlock(run, use, result));
      applyEffects(run, use, result, state);
    }
  }
  return { results: uses.map((u) => byId.get(u.id) as ToolResultBlock), finish: state.finish };
}

/** Consecutive concurrent calls form one group; every other call is a group of its own. */
function concurrentGroups(run: Run, ordered: ToolUseBlock[]): ToolUseBlock[][] {
  const groups: ToolUseBlock[][] = [];
  let open: ToolUseBlock[] | null = null;
  for (const use of ordered) {
    if (run.ctx.toolsByName.get(use.name)?.concurrent === true) {
      if (!open) {
        open = [];
        groups.push(open);
      }
      open.push(use);
    } else {
      open = null;
      groups.push([use]);
    }
  }
  return groups;
}

/** Runs one call and records it (usage added, transcript line, event) as soon as it ends. */
async function runAndRecord(run: Run, use: ToolUseBlock): Promise<ToolResult> {
  const { ctx, state } = run;
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
  if (ctx.signal.aborted) return result;
  const body = historyText(run, result);
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
    id: use.id,
    turn: state.turns,
    input: use.input,
    output: body,
    ...(result.usage ? { usage: result.usage, costUsd: toolCost } : {}),
  });
  return result;
}

/** What enters the history: secrets scrubbed, then capped (head and tail kept). */
function historyText(run: Run, result: ToolResult): string {
  const scrubbed = redactText(result.content, run.ctx.secrets);
  const text = capGiantView(capGiantOutput(scrubbed, run.ctx.maxGiantResultChars), run.ctx.maxGiantViewChars);
  return capText(text, run.ctx.maxResultChars);
}

function resultBlock(run: Run, use: ToolUseBlock, result: ToolResult): ToolResultBlock {
  return {
    type: 'tool_result',
    tool_use_id: use.id,
    content: historyText(run, result) || '(no output)',
    ...(result.isError ? { is_error: true } : {}),
  };
}

function applyEffects(
  run: Run,
  use: ToolUseBlock,
  result: ToolResult,
  out: { finish?: ExecutedTools['finish'] },
): void {
  const { ctx, state } = run;
  if (result.isError) return;
  const touched = touchedPath(use.name, use.input);
  if (touched) setMemory(run, withFileTouched(state.memory, touched));
  const effect = result.effect;
  if (effect?.kind === 'memory') setMemory(run, effect.memory);
  if (effect?.kind === 'plan') {
    state.plan = effect.items;
    ctx.transcript.write({ type: 'plan', items: state.plan });
    ctx.emit({ type: 'plan', items: state.plan });
  }
  if (effect?.kind === 'finish')
    out.finish = {
      summary: effect.summary,
      threads: effect.threads,
      ...(effect.needsInput ? { needsInput: effect.needsInput } : {}),
    };
}
