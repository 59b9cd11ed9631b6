import type { Task } from '../../../src/domain/task.js';
import type { AgentTask } from '../../agent/tool.js';
import type { CommandResult } from '../../session/run-agent-session.js';
import type { FlowContext, FlowOutcome, SessionRun } from '../flow-context.js';

/**
 * One task kind (claude-code-action's `src/modes/` shape): what it gathers, which
 * ref the agent starts from, what the agent is told, and how the change is
 * delivered and reported. `runFlow` calls a mode; a new kind is a new file here
 * and one line in `modes/index.ts`, never a branch inside `runFlow`.
 */
export interface Mode<T extends Task> {
  /** The tracking comment's title, or null when the mode keeps none (scheduled work has no thread). */
  trackingTitle(task: T): string | null;
  /** Gathers what the agent needs; a finished outcome when there is nothing to run. */
  plan(ctx: FlowContext<T>): Promise<ModePlan | ModeOutcome>;
}

export interface ModePlan {
  /** A branch or sha the working copy starts from. */
  startRef: string;
  /** Refs to fetch besides branches (a fork pull request's `refs/pull/N/head`). */
  fetchRefs?: string[];
  /** The pull request head this run works on, where its `Pullwright` check run goes (issue 15 item 4). */
  headSha?: string;
  agentTask: AgentTask;
  /** Delivers the session's change (or its absence) and says what to report. */
  deliver(run: SessionRun): Promise<ModeOutcome>;
}

/** A flow outcome plus what the tracking comment says about it (written by `runFlow` in one place). */
export interface ModeOutcome extends FlowOutcome {
  /** Shown as is in the tracking comment: already neutralized. */
  detail?: string;
  verify?: CommandResult[];
  blockedHosts?: string[];
  /** Files the pushed change touched (the check run lists them). */
  files?: string[];
  /** A `needs_input` run's question and its resume marker (questions.ts). */
  question?: { text: string; marker: string };
  /** The pull request's base, recorded with a push for the app's follow-ups (default: the default branch). */
  baseRef?: string;
}

export function isPlan(value: ModePlan | ModeOutcome): value is ModePlan {
  return 'deliver' in value;
}
