import type { RunOutcome } from '../../src/domain/run-outcome.js';
import type { Logger } from '../../src/logger.js';
import type { PlanItem } from '../agent/tool.js';
import { breakMentions, codeSpan, inertInline, inertMarkdown, withoutComments } from './inert-markdown.js';

/**
 * The one tracking comment a run keeps on its issue or PR: created at the start,
 * edited as the run goes (phase checklist, the agent's plan, the current step),
 * and ending with the outcome. Edits are throttled so a chatty agent cannot
 * exhaust the installation's rate limit; the final state is always written.
 */

export const PHASES = ['prepare', 'workspace', 'sandbox', 'agent', 'verify', 'deliver'] as const;
export type Phase = (typeof PHASES)[number];

/** A finished run's outcome, or `running` while it works (and while a retry is pending). */
export type RunStatus = RunOutcome | 'running';

export interface TrackingState {
  title: string;
  status: RunStatus;
  phase: Phase;
  step?: string;
  plan: PlanItem[];
  prUrl?: string;
  prNumber?: number;
  branch?: string;
  durationMs?: number;
  tokens?: { input: number; output: number; cacheRead: number; cacheWrite: number };
  costUsd?: number;
  /**
   * Host-composed markdown: callers pass text already redacted, with any model- or
   * repository-chosen part rendered by `inertMarkdown`/`inertInline` (mentions are broken here too).
   */
  detail?: string;
  verify?: { command: string; ok: boolean }[];
  /** Kept through the final edit (unlike `detail`): what the person should know about this run's input. */
  notes?: string[];
  blockedHosts?: string[];
  /**
   * A `needs_input` run's question (model text: rendered inert here) and the host's hidden
   * marker that lets the next run resume (questions.ts; base64url only, written as is).
   */
  question?: { text: string; marker: string };
  /** The run page (PUBLIC_URL/runs/<random id>), built by the host. */
  runUrl?: string;
}

const STATUS_LINE: Record<RunStatus, string> = {
  running: '⏳ Working on it',
  succeeded: '✅ Done',
  'no-changes': 'ℹ️ Finished without changes',
  limit: '⚠️ Stopped at a limit',
  failed: '❌ Failed',
  cancelled: '🛑 Cancelled',
  refused: '🚫 Change refused',
  skipped: '⏭️ Skipped',
  needs_input: '❓ Waiting for an answer',
};

const PLAN_MARK: Record<PlanItem['status'], string> = {
  pending: '[ ]',
  in_progress: '[ ]',
  completed: '[x]',
};

/** Keeps untrusted one-line text (title, step, plan items, hosts) inert and inside its list item. */
function inline(text: string): string {
  return inertInline(text, 300);
}

/**
 * `detail` is composed by the host around text it already rendered inert; this second,
 * idempotent pass is a backstop for a caller that forgot (a refused path named
 * `.github/@org/team`): no mention pings and no hidden marker is forged.
 */
function backstop(text: string): string {
  return breakMentions(withoutComments(text));
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`;
}

export function formatUsage(state: Pick<TrackingState, 'durationMs' | 'tokens' | 'costUsd'>): string {
  const parts: string[] = [];
  if (state.durationMs !== undefined) parts.push(`duration ${formatDuration(state.durationMs)}`);
  if (state.tokens) {
    const t = state.tokens;
    const total = t.input + t.output + t.cacheRead + t.cacheWrite;
    parts.push(`${total.toLocaleString('en-US')} tokens (${t.cacheRead.toLocaleString('en-US')} from cache)`);
  }
  if (state.costUsd !== undefined) parts.push(`cost $${state.costUsd.toFixed(2)}`);
  return parts.join(' · ');
}

export function trackingMarker(key: string): string {
  return `<!-- pullwright:tracking ${key} -->`;
}

export function renderTrackingComment(key: string, state: TrackingState): string {
  const lines: string[] = [
    trackingMarker(key),
    `### ${STATUS_LINE[state.status]} — ${inline(state.title)}`,
    '',
  ];
  const phaseIndex = PHASES.indexOf(state.phase);
  const done = state.status !== 'running';
  lines.push(
    PHASES.map((p, i) => {
      if (i < phaseIndex || (done && state.status === 'succeeded')) return `✔ ${p}`;
      if (i === phaseIndex) return done ? `✖ ${p}` : `**▶ ${p}**`;
      return `· ${p}`;
    }).join(' → '),
  );
  if (state.step && !done) lines.push('', `_${inline(state.step)}_`);
  if (state.plan.length > 0) {
    lines.push('', '**Plan**');
    for (const item of state.plan) {
      const suffix = item.status === 'in_progress' ? ' ← in progress' : '';
      lines.push(`- ${PLAN_MARK[item.status]} ${inline(item.step)}${suffix}`);
    }
  }
  if (state.verify && state.verify.length > 0) {
    lines.push('', '**Verification**');
    for (const v of state.verify) lines.push(`- ${v.ok ? '✅' : '❌'} ${codeSpan(v.command.slice(0, 300))}`);
  }
  if (state.question) {
    lines.push(
      '',
      '**Question**',
      '',
      inertMarkdown(state.question.text, 3_000),
      '',
      'Answer with a mention (`@agent …`) here; the next run starts from this question, your answer and this plan.',
    );
  }
  if (state.prUrl) lines.push('', `**Pull request:** ${state.prUrl}`);
  if (state.runUrl && /^https?:\/\/[^\s()<>]+$/.test(state.runUrl))
    lines.push('', `[Run log](${state.runUrl})`);
  for (const note of state.notes ?? []) lines.push('', note);
  if (state.detail) lines.push('', backstop(state.detail));
  if (state.blockedHosts && state.blockedHosts.length > 0) {
    lines.push(
      '',
      `Network requests blocked by the sandbox policy: ${state.blockedHosts.map(inline).join(', ')}`,
    );
  }
  const usage = formatUsage(state);
  if (usage) lines.push('', `<sub>${usage}</sub>`);
  // Only the host's own marker, of base64url text (questions.ts): nothing else can be hidden here.
  if (state.question && /^<!-- pullwright:question [A-Za-z0-9_-]+ -->$/.test(state.question.marker))
    lines.push(state.question.marker);
  return lines.join('\n');
}

export interface CommentWriter {
  create(body: string): Promise<{ id: number }>;
  update(id: number, body: string): Promise<void>;
}

export class TrackingComment {
  private id: number | null;
  private state: TrackingState;
  private pending: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private lastWrite = 0;

  constructor(
    private readonly key: string,
    private readonly writer: CommentWriter,
    initial: TrackingState,
    private readonly log: Logger,
    existingId: number | null = null,
    private readonly minIntervalMs = 2_000,
  ) {
    this.id = existingId;
    this.state = initial;
  }

  get commentId(): number | null {
    return this.id;
  }

  get current(): TrackingState {
    return this.state;
  }

  /** Creates the comment (or rewrites the one a previous attempt left). */
  async start(): Promise<void> {
    await this.write();
  }

  /** Merges a change and schedules a throttled edit. Never throws: a failed edit is logged. */
  update(change: Partial<TrackingState>): void {
    this.state = { ...this.state, ...change };
    if (this.timer) return;
    const wait = Math.max(0, this.lastWrite + this.minIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pending = this.pending.then(() => this.write()).catch(() => {});
    }, wait);
    this.timer.unref?.();
  }

  /** Writes the final state now, after any edit in flight. */
  async finish(change: Partial<TrackingState>): Promise<void> {
    this.state = { ...this.state, ...change };
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.pending.catch(() => {});
    await this.write();
  }

  private async write(): Promise<void> {
    const body = renderTrackingComment(this.key, this.state);
    this.lastWrite = Date.now();
    try {
      if (this.id === null) this.id = (await this.writer.create(body)).id;
      else await this.writer.update(this.id, body);
    } catch (err) {
      this.log.warn({ err, commentId: this.id }, 'Tracking comment update failed');
    }
  }
}
