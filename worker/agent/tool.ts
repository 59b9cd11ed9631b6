import type { z } from 'zod';
import type { Logger } from '../../src/logger.js';
import type { Usage } from '../model/model.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { SessionMemory } from './memory/session-memory.js';
import type { HarnessEvent } from './tools/harness-events.js';

export type { SessionMemory } from './memory/session-memory.js';

/**
 * The contract between the agent loop and its tools. Tools run through the
 * Sandbox port, never on the host, and report failure as data (`isError`),
 * never by throwing into the loop.
 */

export const PlanStatus = ['pending', 'in_progress', 'completed'] as const;
export type PlanStatus = (typeof PlanStatus)[number];
export interface PlanItem {
  step: string;
  status: PlanStatus;
}

/** Events the loop emits; the worker turns them into the tracking comment. The agent never talks to GitHub. */
export type AgentEvent =
  | { type: 'plan'; items: PlanItem[] }
  | {
      type: 'tool';
      name: string;
      summary: string;
      durationMs: number;
      isError: boolean;
      /** The call's id and the turn that made it. */
      id?: string;
      turn?: number;
      /** The model's input as sent, and the result as it entered the history (secrets scrubbed, capped). */
      input?: unknown;
      output?: string;
      /** Model usage spent inside the tool (a subagent), already added to the run's totals. */
      usage?: Usage;
      costUsd?: number;
    }
  | {
      type: 'turn';
      turn: number;
      usage: { input: number; output: number; cacheRead: number; cacheWrite: number };
      /** This turn's cost, request time, model, visible text (no thinking) and stop reason. */
      costUsd?: number;
      durationMs?: number;
      model?: string;
      text?: string;
      stopReason?: string | null;
    }
  /** Earlier history edited to save context: stale tool results cleared, or older turns summarized. */
  | {
      type: 'compaction';
      kind: 'clear' | 'summary';
      cleared: number;
      /** Thinking blocks removed because their prefix changed (preserved-thinking models). */
      thinkingDropped?: number;
    }
  | { type: 'result'; outcome: string; turns: number; costUsd: number }
  | { type: 'status'; message: string }
  /** The session memory after the agent changed it (and its size as stored). */
  | { type: 'memory'; memory: SessionMemory; bytes: number }
  | HarnessEvent;

export interface ToolContext {
  sandbox: Sandbox;
  signal: AbortSignal;
  log: Logger;
  /** The run's session memory as it is now (read-only; the `memory` effect replaces it). */
  memory?: SessionMemory;
  /** The model's id for this call and the turn that made it (a subagent names its transcript and events by them). */
  toolUseId?: string;
  turn?: number;
}

/** Side effects a tool asks the loop to perform; only `update_plan` and `finish` use them. */
/** What the agent says to one review thread, by its number in the task ("Review thread 2" → 2). */
export interface ThreadReply {
  thread: number;
  reply: string;
  /** `declined`: the agent disagreed or could not make or verify the change (the flows then leave the thread open). */
  status?: 'addressed' | 'declined';
}

export type ToolEffect =
  | { kind: 'plan'; items: PlanItem[] }
  /**
   * Ends the run. With `needsInput` the agent stops to ask a person (outcome
   * `needs_input`): the flows post the question and stop; the answer starts a later run.
   */
  | { kind: 'finish'; summary: string; threads?: ThreadReply[]; needsInput?: { question: string } }
  /** Replaces the run's session memory (the memory tool; kept through compaction and stored per issue/PR). */
  | { kind: 'memory'; memory: SessionMemory };

export interface ToolResult {
  /** Text returned to the model as the tool_result content. */
  content: string;
  isError: boolean;
  effect?: ToolEffect;
  /**
   * Model usage the tool spent (a subagent's own loop): the loop adds it to the run's
   * usage, cost and budgets, and the transcript records it with the call.
   */
  usage?: Usage;
  /** Its cost when the tool priced it (another model); else the loop prices `usage` at the run's model. */
  costUsd?: number;
}

export interface Tool<I = unknown> {
  name: string;
  description: string;
  /** Validates the model's input; a failed parse becomes an error result, never a throw. */
  input: z.ZodType<I>;
  /** JSON Schema sent to the model (derived from `input`). */
  inputJsonSchema: Record<string, unknown>;
  /**
   * May run at the same time as the other concurrent calls next to it in one response
   * (read-only work: subagents, remote MCP tools). Everything else runs alone, in order.
   */
  concurrent?: boolean;
  run(input: I, ctx: ToolContext): Promise<ToolResult>;
}

/** A pull request as the agent sees it (all text untrusted). */
export interface AgentPullRequest {
  number: number;
  title: string;
  body: string;
  baseRef: string;
  headRef: string;
}

/** One failed check of a repair-ci task (all text untrusted: CI logs are written by the code under test). */
export interface CiFailure {
  name: string;
  conclusion: string;
  summary: string;
  log: string;
  annotations: { path: string; line: number | null; message: string }[];
}

/** One conflicted file of an update-branch task; the working copy holds the merge with markers. */
export interface MergeConflict {
  path: string;
  ours: string;
  theirs: string;
  base: string | null;
}

/**
 * What an earlier run on the same issue/PR left for this one (resumed after
 * `needs_input`): its question, the person's answer, its plan and notes. Untrusted:
 * the answer is a person's comment and the rest came from a model that read untrusted text.
 */
export interface PreviousRun {
  question?: string;
  answer?: string;
  plan?: PlanItem[];
  notes?: string;
}

/** Carried by every task kind: a resumed question, and the session memory of earlier runs on the same issue/PR. */
export interface TaskCarryOver {
  previous?: PreviousRun;
  memory?: SessionMemory;
}

/** What the agent is asked to do. All text in it is untrusted and is fenced and sanitized by the context builder. */
export type AgentTask = TaskCarryOver &
  (
    | {
        kind: 'implement';
        issue: { number: number; title: string; body: string; comments: { author: string; body: string }[] };
        instruction?: string;
      }
    | {
        kind: 'address-review' | 'revise';
        pr: AgentPullRequest;
        threads: {
          id: string;
          path: string;
          line: number | null;
          diffHunk: string;
          comments: { author: string; body: string }[];
        }[];
        reviews: { author: string; body: string; state: string }[];
        instruction?: string;
      }
    | {
        kind: 'repair-ci';
        pr: AgentPullRequest;
        failures: CiFailure[];
        /** 1-based attempt number of this repair on the PR, and the configured cap. */
        attempt: number;
        maxAttempts: number;
        instruction?: string;
      }
    | {
        kind: 'update-branch';
        pr: AgentPullRequest;
        /** The branch merged into the PR's head (conflicts resolved in the working copy). */
        baseRef: string;
        conflicts: MergeConflict[];
        instruction?: string;
      }
    | { kind: 'maintenance'; taskId: string; prompt: string }
    | { kind: 'local'; text: string }
  );
