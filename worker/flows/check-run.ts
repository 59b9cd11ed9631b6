import type { CheckConclusion, CheckRunOutput } from '../../src/github/ci-data.js';
import type { RepoGitHub } from '../../src/github/github-for-worker.js';
import type { Logger } from '../../src/logger.js';
import type { PlanItem } from '../agent/tool.js';
import type { SessionEvent } from '../session/run-agent-session.js';
import { OWN_CHECK_NAME } from './ci/gather-ci-failures.js';
import { codeSpan, inertInline, inertMarkdown } from './inert-markdown.js';
import type { RunStatus } from './tracking-comment.js';
import { formatUsage } from './tracking-comment.js';

/**
 * A `Pullwright` check run per run (issue 15 item 4), on the pull request head the run
 * works on: in progress with the current plan step, completed with the outcome, plan,
 * verification, files changed, turns, tokens and cost. When the run pushed a commit,
 * that new head gets the completed check run too, so the PR's checks list shows it.
 * Text the model or the repository chose is rendered inert, as in the tracking comment.
 * Updates are throttled; a failed write is logged, never fails the run.
 */

export interface CheckRunSummary {
  status: RunStatus;
  title: string;
  detail?: string;
  plan: PlanItem[];
  verify?: { command: string; ok: boolean }[];
  files?: string[];
  turns?: number;
  tokens?: { input: number; output: number; cacheRead: number; cacheWrite: number };
  costUsd?: number;
  durationMs?: number;
  /** The commit the run pushed, when it did. */
  commitSha?: string;
}

const CONCLUSION: Record<Exclude<RunStatus, 'running'>, CheckConclusion> = {
  succeeded: 'success',
  'no-changes': 'neutral',
  limit: 'neutral',
  skipped: 'skipped',
  needs_input: 'neutral',
  refused: 'failure',
  failed: 'failure',
  cancelled: 'cancelled',
};

const TITLE: Record<RunStatus, string> = {
  running: 'Working',
  succeeded: 'Done',
  'no-changes': 'Finished without changes',
  limit: 'Stopped at a limit',
  skipped: 'Skipped',
  needs_input: 'Waiting for an answer',
  refused: 'Change refused',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

const MAX_SUMMARY = 60_000;
const MARK: Record<PlanItem['status'], string> = { pending: '[ ]', in_progress: '[ ]', completed: '[x]' };

export function renderCheckSummary(s: CheckRunSummary): CheckRunOutput {
  const lines: string[] = [`**${TITLE[s.status]}** — ${inertInline(s.title, 200)}`];
  if (s.detail) lines.push('', s.detail);
  if (s.plan.length > 0) {
    lines.push('', '### Plan');
    for (const p of s.plan)
      lines.push(
        `- ${MARK[p.status]} ${inertInline(p.step, 300)}${p.status === 'in_progress' ? ' ← in progress' : ''}`,
      );
  }
  if (s.verify && s.verify.length > 0) {
    lines.push('', '### Verification');
    for (const v of s.verify) lines.push(`- ${v.ok ? '✅' : '❌'} ${codeSpan(v.command.slice(0, 300))}`);
  }
  if (s.files && s.files.length > 0) {
    lines.push('', `### Files changed (${s.files.length})`);
    for (const f of s.files.slice(0, 50)) lines.push(`- ${codeSpan(f.slice(0, 300))}`);
    if (s.files.length > 50) lines.push(`- … ${s.files.length - 50} more`);
  }
  const usage = formatUsage(s);
  const turns = s.turns !== undefined ? `${s.turns} turns` : '';
  if (usage || turns) lines.push('', [turns, usage].filter(Boolean).join(' · '));
  const summary = lines.join('\n');
  return {
    title: `${TITLE[s.status]}${s.commitSha ? ` (${s.commitSha.slice(0, 7)})` : ''}`,
    summary: summary.length > MAX_SUMMARY ? `${summary.slice(0, MAX_SUMMARY)}…` : summary,
  };
}

export interface CheckRunReporter {
  onEvent(event: SessionEvent): void;
  complete(summary: CheckRunSummary): Promise<void>;
}

/** Starts the check run, or returns null when it is off (`checkRun: false`) or the token lacks `checks: write`. */
export async function startCheckRun(input: {
  github: Pick<RepoGitHub, 'createCheckRun' | 'updateCheckRun' | 'tokenPermissions'>;
  enabled: boolean;
  headSha: string | undefined;
  title: string;
  jobId: string;
  detailsUrl?: string;
  log: Logger;
  minIntervalMs?: number;
}): Promise<CheckRunReporter | null> {
  const { github, log } = input;
  if (!input.enabled || github.tokenPermissions.checks !== 'write') return null;
  const started = new Date().toISOString();
  const base = {
    name: OWN_CHECK_NAME,
    externalId: input.jobId,
    ...(input.detailsUrl ? { detailsUrl: input.detailsUrl } : {}),
  };
  // Without a head yet (a new branch), the check run is created completed on the commit the run pushes.
  let id: number | null = null;
  if (input.headSha) {
    try {
      id = (
        await github.createCheckRun({
          ...base,
          headSha: input.headSha,
          status: 'in_progress',
          startedAt: started,
          output: { title: 'Working', summary: `**Working** — ${inertInline(input.title, 200)}` },
        })
      ).id;
    } catch (err) {
      log.warn({ err }, 'Check run could not be created');
    }
  }
  let plan: PlanItem[] = [];
  let step = '';
  let timer: NodeJS.Timeout | null = null;
  let pending: Promise<unknown> = Promise.resolve();
  let last = 0;
  const minInterval = input.minIntervalMs ?? 3_000;
  const write = () => {
    last = Date.now();
    if (id === null) return;
    const runId = id;
    const summary = renderCheckSummary({
      status: 'running',
      title: input.title,
      plan,
      ...(step ? { detail: `_${inertInline(step, 300)}_` } : {}),
    });
    pending = pending
      .then(() => github.updateCheckRun(runId, { output: summary }))
      .catch((err) => log.warn({ err }, 'Check run update failed'));
  };
  return {
    onEvent(event) {
      if (event.type === 'plan') plan = event.items;
      else if (event.type === 'tool') step = `${event.name}: ${event.summary}`;
      else if (event.type === 'phase') step = event.phase;
      else return;
      if (timer) return;
      timer = setTimeout(
        () => {
          timer = null;
          write();
        },
        Math.max(0, last + minInterval - Date.now()),
      );
      timer.unref?.();
    },
    async complete(summary) {
      if (timer) clearTimeout(timer);
      timer = null;
      await pending;
      const status = summary.status === 'running' ? 'failed' : summary.status;
      const change = {
        status: 'completed' as const,
        conclusion: CONCLUSION[status],
        completedAt: new Date().toISOString(),
        output: renderCheckSummary(summary),
      };
      try {
        if (id !== null) await github.updateCheckRun(id, change);
        if (summary.commitSha && summary.commitSha !== input.headSha)
          await github.createCheckRun({ ...base, headSha: summary.commitSha, startedAt: started, ...change });
      } catch (err) {
        log.warn({ err }, 'Check run could not be completed');
      }
    },
  };
}

/** The detail line of a finished run, as plain host text plus the inert agent summary. */
export function checkDetailOf(
  detail: string | undefined,
  agentSummary: string | undefined,
): string | undefined {
  return detail ?? (agentSummary ? inertMarkdown(agentSummary, 3_000) : undefined);
}
