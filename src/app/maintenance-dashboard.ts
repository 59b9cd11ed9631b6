import type { Redis } from 'ioredis';
import type { RepoRef } from '../domain/task.js';
import type { IssueChange, NewIssue } from '../github/ci-data.js';
import type { IssueData } from '../github/github-for-worker.js';
import { createMaintenanceCaps } from '../queue/maintenance-caps.js';
import { createMaintenanceRuns, type MaintenanceRun } from '../queue/maintenance-runs.js';
import { createScheduleReader, type ScheduledTask } from '../queue/schedulers.js';

/**
 * The maintenance dashboard issue (issue 15, item 6; Renovate's Dependency Dashboard is
 * the model): one issue per repository with maintenance tasks, listing each task's
 * schedule, next run, last run and outcome, open PR, and a "run now" checkbox a writer
 * can tick. Kept up to date by the host (the app on config changes and ticks, the worker
 * after each maintenance run), found again by a hidden marker in an issue the app's bot
 * opened, closed when the config has no tasks or says `dashboard: false`.
 *
 * Threats: anyone can open an issue carrying the marker, so only the bot's own issue is
 * adopted (`findIssueByMarker` with the bot as creator). The prompt comes from the config
 * on the default branch, but goes into an issue everyone reads: it is shown inside a code
 * span, so it can mention nobody and link nowhere. Ticks are parsed from the issue body,
 * which a writer may edit freely: a tick only names a task id, which must be in the config,
 * and the tick's author must have write access (handlers/dashboard-handler.ts).
 */
export const DASHBOARD_MARKER = '<!-- pullwright:maintenance-dashboard -->';
export const DASHBOARD_TITLE = 'Pullwright maintenance dashboard';

const TASK_ID = '[a-z0-9][a-z0-9-]{0,62}';
const RUN_NOW = new RegExp(
  `^(\\s*[-*]\\s+\\[)([ xX])(\\]\\s+<!--\\s*pullwright:run-now:(${TASK_ID})\\s*-->.*)$`,
);

/** What the dashboard issue needs from GitHub: the worker's `RepoGitHub` has exactly this shape. */
export interface DashboardIssues {
  findIssueByMarker(
    marker: string,
    options: { creator: string; state?: 'open' | 'closed' | 'all' },
  ): Promise<IssueData | null>;
  createIssue(input: NewIssue): Promise<IssueData>;
  updateIssue(number: number, change: IssueChange): Promise<IssueData>;
}

export interface DashboardTask {
  id: string;
  prompt: string;
  schedule: ScheduledTask;
  lastRun: MaintenanceRun | null;
  openPrs: number[];
}

const OUTCOME_ICONS: Record<MaintenanceRun['outcome'], string> = {
  succeeded: '✅',
  'no-changes': '➖',
  limit: '⚠️',
  failed: '❌',
  cancelled: '🛑',
  needs_input: '❓',
  refused: '🚫',
  skipped: '⏭️',
  running: '⏳',
  queued: '⏳',
};

/** Text shown inside a code span: no backticks, no line breaks, bounded. */
function codeSpan(text: string, max = 120): string {
  const flat = text
    .replace(/[`\r\n\t]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const cut = flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
  return `\`${cut || ' '}\``;
}

function when(date: Date | string | undefined | null): string {
  if (!date) return '—';
  const d = typeof date === 'string' ? new Date(date) : date;
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function lastRunCell(run: MaintenanceRun | null): string {
  if (!run) return 'never';
  const icon = OUTCOME_ICONS[run.outcome];
  const by = run.requestedBy ? ` (run now by ${codeSpan(run.requestedBy, 40)})` : '';
  const at = when(run.finishedAt ?? run.startedAt);
  const reason = run.reason && run.outcome !== 'succeeded' ? `: ${codeSpan(run.reason, 80)}` : '';
  const pr = run.prNumber !== undefined ? `, #${run.prNumber}` : '';
  return `${icon} ${run.outcome.replace('_', ' ')}, ${at}${pr}${by}${reason}`;
}

export function renderDashboard(tasks: readonly DashboardTask[]): string {
  const lines = [
    DASHBOARD_MARKER,
    'Maintenance tasks of this repository, from `.github/pullwright.yml` on the default branch.',
    'Tick **run now** to queue a task (users with write access only). Pullwright keeps this issue',
    'up to date: edits other than ticking a box are overwritten. Set `dashboard: false` to remove it.',
    '',
  ];
  for (const task of tasks) {
    const schedule = task.schedule.cron
      ? `${codeSpan(task.schedule.cron, 60)} (${task.schedule.timezone ?? 'UTC'})`
      : 'not scheduled';
    const prs = task.openPrs.length > 0 ? task.openPrs.map((n) => `#${n}`).join(', ') : '—';
    lines.push(
      `### ${codeSpan(task.id, 64)}`,
      '',
      `${codeSpan(task.prompt)}`,
      '',
      '| Schedule | Next run | Last run | Open PR |',
      '| --- | --- | --- | --- |',
      `| ${schedule} | ${when(task.schedule.next)} | ${lastRunCell(task.lastRun)} | ${prs} |`,
      '',
      `- [ ] <!-- pullwright:run-now:${task.id} --> run now`,
      '',
    );
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Task ids whose "run now" box is ticked in this body. */
export function tickedTasks(body: string | null | undefined): Set<string> {
  const ticked = new Set<string>();
  for (const line of (body ?? '').split(/\r?\n/)) {
    const m = RUN_NOW.exec(line);
    if (m && m[2] !== ' ' && m[4]) ticked.add(m[4]);
  }
  return ticked;
}

/** The body with every run-now box unticked and line endings normalized: what a tick leaves alone. */
function withoutTicks(body: string): string {
  return body
    .split(/\r?\n/)
    .map((line) => line.replace(RUN_NOW, '$1 $3').trimEnd())
    .join('\n')
    .trim();
}

/**
 * The boxes this edit ticked: ticked now and not before. Null when the edit changed
 * anything besides boxes (a rewrite of the issue is not a request to run anything).
 */
export function newlyTicked(
  before: string | null | undefined,
  after: string | null | undefined,
): string[] | null {
  if (withoutTicks(before ?? '') !== withoutTicks(after ?? '')) return null;
  const previous = tickedTasks(before);
  return [...tickedTasks(after)].filter((id) => !previous.has(id)).sort();
}

export type DashboardAction = 'created' | 'updated' | 'reopened' | 'unchanged' | 'closed' | 'none';

/**
 * Creates, updates, reopens or closes the dashboard issue so it shows `tasks` (none, or
 * `enabled: false`: closed if open). Idempotent: the same state twice edits nothing.
 */
export async function ensureDashboard(
  issues: DashboardIssues,
  input: { botLogin: string; enabled: boolean; tasks: readonly DashboardTask[] },
): Promise<{ action: DashboardAction; number?: number }> {
  const existing = await issues.findIssueByMarker(DASHBOARD_MARKER, {
    creator: input.botLogin,
    state: 'all',
  });
  if (!input.enabled || input.tasks.length === 0) {
    if (existing?.state !== 'open')
      return { action: 'none', ...(existing ? { number: existing.number } : {}) };
    await issues.updateIssue(existing.number, {
      state: 'closed',
      body: `${DASHBOARD_MARKER}\nNo maintenance tasks are configured (or \`dashboard: false\`): nothing to show.\n`,
    });
    return { action: 'closed', number: existing.number };
  }
  const body = renderDashboard(input.tasks);
  if (!existing) {
    const created = await issues.createIssue({ title: DASHBOARD_TITLE, body });
    return { action: 'created', number: created.number };
  }
  if (existing.state === 'closed') {
    await issues.updateIssue(existing.number, { state: 'open', body });
    return { action: 'reopened', number: existing.number };
  }
  if (existing.body.replace(/\r\n/g, '\n') === body) return { action: 'unchanged', number: existing.number };
  await issues.updateIssue(existing.number, { body });
  return { action: 'updated', number: existing.number };
}

export interface DashboardRefresher {
  /** Reads the schedules, last runs and open PRs of `config.maintenance` and ensures the issue. */
  refresh(input: {
    issues: DashboardIssues;
    installationId: number;
    repo: RepoRef;
    config: { dashboard: boolean; maintenance: readonly { id: string; prompt: string }[] };
  }): Promise<{ action: DashboardAction; number?: number }>;
}

/** For the app and the worker alike (the worker passes its `RepoGitHub` as `issues`). */
export function createDashboardRefresher(options: {
  redis: Redis;
  prefix: string;
  botLogin: string;
}): DashboardRefresher {
  const runs = createMaintenanceRuns(options.redis, options.prefix);
  const caps = createMaintenanceCaps(options.redis, options.prefix);
  const schedules = createScheduleReader(options.redis, options.prefix);
  return {
    async refresh({ issues, installationId, repo, config }) {
      const ids = config.maintenance.map((t) => t.id);
      const enabled = config.dashboard && ids.length > 0;
      const [scheduled, lastRuns] = enabled
        ? await Promise.all([schedules.get(installationId, repo, ids), runs.lastRuns(installationId, repo)])
        : [new Map<string, ScheduledTask>(), new Map<string, MaintenanceRun>()];
      const tasks: DashboardTask[] = [];
      if (enabled) {
        for (const t of config.maintenance) {
          tasks.push({
            id: t.id,
            prompt: t.prompt,
            schedule: scheduled.get(t.id) ?? { cron: null, timezone: null, next: null },
            lastRun: lastRuns.get(t.id) ?? null,
            openPrs: await caps.listOpen(repo, t.id),
          });
        }
      }
      return ensureDashboard(issues, { botLogin: options.botLogin, enabled, tasks });
    },
  };
}
