import { z } from 'zod';
import type { TargetTask, Task } from '../../src/domain/task.js';
import type { PlanItem, PreviousRun } from '../agent/tool.js';
import type { SessionRun } from './flow-context.js';
import type { ModeOutcome } from './modes/mode.js';

/**
 * Questions instead of guesses (issue 15 item 5). A run whose agent ends with
 * `needs_input` posts the question in its tracking comment and stops; nothing is pushed
 * and only what was spent is charged. The comment carries a hidden marker with the
 * question, the plan and the agent's notes, so the next run a writer starts with a
 * mention on the same issue or PR resumes from them, with the mention as the answer.
 *
 * Threat: the marker is read only from the bot's own tracking comment (a person cannot
 * plant one by writing a comment); its content is model output and a person's answer,
 * so it reaches the agent as untrusted text (the context builder fences `previous`), and
 * it is parsed with bounds, never evaluated.
 */

const MARKER = 'pullwright:question';
const MAX_QUESTION = 4_000;
const MAX_NOTES = 6_000;

const QuestionState = z.object({
  question: z.string().max(MAX_QUESTION),
  plan: z
    .array(z.object({ step: z.string().max(500), status: z.enum(['pending', 'in_progress', 'completed']) }))
    .max(50)
    .default([]),
  notes: z.string().max(MAX_NOTES).default(''),
});
export type QuestionState = z.infer<typeof QuestionState>;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The hidden marker: base64url JSON, so no text inside can close the HTML comment or forge another. */
export function questionMarker(state: QuestionState): string {
  const bounded: QuestionState = {
    question: clip(state.question, MAX_QUESTION),
    plan: state.plan.slice(0, 50).map((p) => ({ step: clip(p.step, 500), status: p.status })),
    notes: clip(state.notes, MAX_NOTES),
  };
  return `<!-- ${MARKER} ${Buffer.from(JSON.stringify(bounded)).toString('base64url')} -->`;
}

export function readQuestionMarker(body: string): QuestionState | null {
  const m = new RegExp(`<!-- ${MARKER} ([A-Za-z0-9_-]{1,40000}) -->`).exec(body);
  if (!m?.[1]) return null;
  try {
    const parsed = QuestionState.safeParse(JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** A person's mention (not an assignment, a schedule or a follow-up) can answer an open question. */
export function answerOf(task: Task): string | null {
  if (task.kind === 'maintenance') return null;
  const t = (task as TargetTask).trigger;
  const fromComment = t.source === 'issue_comment' || t.source === 'review' || t.source === 'review_comment';
  return fromComment && t.instruction?.trim() ? t.instruction.trim() : null;
}

/** What the resumed run is told about the earlier one. */
export function previousRunOf(state: QuestionState, answer: string): PreviousRun {
  return {
    question: state.question,
    answer,
    ...(state.plan.length > 0 ? { plan: state.plan as PlanItem[] } : {}),
    ...(state.notes ? { notes: state.notes } : {}),
  };
}

/** The outcome of a run that stopped to ask: nothing delivered, the question kept for the next run. */
export function askedOutcome(run: SessionRun): ModeOutcome {
  const question = run.agent.needsInput?.question?.trim() || run.agent.summary;
  return {
    status: 'needs_input',
    reason: 'question',
    agent: run.agent,
    question: {
      text: question,
      marker: questionMarker({ question, plan: run.agent.plan, notes: run.agent.summary }),
    },
  };
}
