import type { z } from 'zod';
import type { Logger } from '../../src/logger.js';
import type { Sandbox } from '../sandbox/sandbox.js';

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
  | { type: 'tool'; name: string; summary: string; durationMs: number; isError: boolean }
  | {
      type: 'turn';
      turn: number;
      usage: { input: number; output: number; cacheRead: number; cacheWrite: number };
    }
  | { type: 'status'; message: string };

export interface ToolContext {
  sandbox: Sandbox;
  signal: AbortSignal;
  log: Logger;
}

/** Side effects a tool asks the loop to perform; only `update_plan` and `finish` use them. */
/** What the agent says to one review thread, by its number in the task ("Review thread 2" → 2). */
export interface ThreadReply {
  thread: number;
  reply: string;
}

export type ToolEffect =
  | { kind: 'plan'; items: PlanItem[] }
  | { kind: 'finish'; summary: string; threads?: ThreadReply[] };

export interface ToolResult {
  /** Text returned to the model as the tool_result content. */
  content: string;
  isError: boolean;
  effect?: ToolEffect;
}

export interface Tool<I = unknown> {
  name: string;
  description: string;
  /** Validates the model's input; a failed parse becomes an error result, never a throw. */
  input: z.ZodType<I>;
  /** JSON Schema sent to the model (derived from `input`). */
  inputJsonSchema: Record<string, unknown>;
  run(input: I, ctx: ToolContext): Promise<ToolResult>;
}

/** What the agent is asked to do. All text in it is untrusted and is fenced and sanitized by the context builder. */
export type AgentTask =
  | {
      kind: 'implement';
      issue: { number: number; title: string; body: string; comments: { author: string; body: string }[] };
      instruction?: string;
    }
  | {
      kind: 'address-review' | 'revise';
      pr: { number: number; title: string; body: string; baseRef: string; headRef: string };
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
  | { kind: 'maintenance'; taskId: string; prompt: string }
  | { kind: 'local'; text: string };
