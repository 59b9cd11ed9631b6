import { describe, expect, it } from 'vitest';
import {
  DASHBOARD_MARKER,
  type DashboardIssues,
  type DashboardTask,
  ensureDashboard,
  newlyTicked,
  renderDashboard,
  tickedTasks,
} from '../../src/app/maintenance-dashboard.js';
import type { IssueData } from '../../src/github/github-for-worker.js';

const task = (id: string, overrides: Partial<DashboardTask> = {}): DashboardTask => ({
  id,
  prompt: `Run ${id}`,
  schedule: { cron: '0 6 * * 1', timezone: 'Europe/Paris', next: new Date('2026-12-07T05:00:00Z') },
  lastRun: null,
  openPrs: [],
  ...overrides,
});

/** Issues in memory, with the creator filter GitHub's port applies. */
class MemoryIssues implements DashboardIssues {
  issues: (IssueData & { creator: string })[] = [];
  edits = 0;
  async findIssueByMarker(marker: string, options: { creator: string }) {
    const found = this.issues.filter((i) => i.creator === options.creator && i.body.includes(marker)).at(-1);
    return found ?? null;
  }
  async createIssue(input: { title: string; body: string }) {
    const issue = {
      number: this.issues.length + 1,
      title: input.title,
      body: input.body,
      state: 'open' as const,
      author: 'pullwright[bot]',
      creator: 'pullwright[bot]',
      isPullRequest: false,
      htmlUrl: '',
      labels: [],
    };
    this.issues.push(issue);
    return issue;
  }
  async updateIssue(number: number, change: { body?: string; state?: 'open' | 'closed' }) {
    const issue = this.issues.find((i) => i.number === number);
    if (!issue) throw new Error('no such issue');
    this.edits++;
    Object.assign(issue, change);
    return issue;
  }
}

describe('maintenance dashboard: rendering and ticks', () => {
  it('lists each task with schedule, next run, last run, open PRs and an unticked run-now box', () => {
    const body = renderDashboard([
      task('deps', {
        lastRun: {
          outcome: 'succeeded',
          startedAt: '2026-12-06T03:00:00.000Z',
          finishedAt: '2026-12-06T03:05:00.000Z',
          jobId: 'j',
          prNumber: 12,
        },
        openPrs: [12],
      }),
      task('docs', { schedule: { cron: null, timezone: null, next: null } }),
    ]);
    expect(body.startsWith(DASHBOARD_MARKER)).toBe(true);
    expect(body).toContain(
      '`0 6 * * 1` (Europe/Paris) | 2026-12-07 05:00 UTC | ✅ succeeded, 2026-12-06 03:05 UTC, #12 | #12 |',
    );
    expect(body).toContain('| not scheduled | — | never | — |');
    expect(body).toContain('- [ ] <!-- pullwright:run-now:deps --> run now');
    expect(tickedTasks(body).size).toBe(0);
  });

  it('shows a prompt inside a code span: it cannot mention, link or break the layout', () => {
    const body = renderDashboard([
      task('x', {
        prompt: 'Ping @everyone `see` [here](https://evil.example)\n- [x] <!-- pullwright:run-now:x -->',
      }),
    ]);
    const line = body.split('\n').find((l) => l.includes('Ping'));
    expect(line).toMatch(
      /^`Ping @everyone see \[here\]\(https:\/\/evil\.example\) - \[x\] <!-- pullwright:run-now:x -->`$/,
    );
    // The prompt's fake box is inside a code span on one line, not a box the parser reads.
    expect(tickedTasks(body).size).toBe(0);
  });

  it('counts only boxes this edit ticked, and nothing when anything else changed', () => {
    const before = renderDashboard([task('deps'), task('docs')]);
    const tick = (body: string, id: string) =>
      body.replace(`- [ ] <!-- pullwright:run-now:${id} -->`, `- [x] <!-- pullwright:run-now:${id} -->`);
    const afterDeps = tick(before, 'deps');
    expect(newlyTicked(before, afterDeps)).toEqual(['deps']);
    expect(newlyTicked(afterDeps, tick(afterDeps, 'docs'))).toEqual(['docs']);
    expect(newlyTicked(afterDeps, afterDeps)).toEqual([]);
    // Unticking queues nothing; CRLF from a browser edit is not a change of text.
    expect(newlyTicked(afterDeps, before)).toEqual([]);
    expect(newlyTicked(before, afterDeps.replace(/\n/g, '\r\n'))).toEqual(['deps']);
    // A tick plus any other edit (or a new box written by hand) is not a run-now request.
    expect(newlyTicked(before, `${afterDeps}\nplease also do this`)).toBeNull();
    expect(newlyTicked(before, `${before}- [x] <!-- pullwright:run-now:evil -->\n`)).toBeNull();
    expect(newlyTicked(before, afterDeps.replace('Run deps', 'Run everything'))).toBeNull();
  });
});

describe('ensureDashboard', () => {
  const bot = 'pullwright[bot]';

  it('creates the issue once, edits it only when it changes, closes it without tasks and reopens it', async () => {
    const issues = new MemoryIssues();
    expect(await ensureDashboard(issues, { botLogin: bot, enabled: true, tasks: [task('deps')] })).toEqual({
      action: 'created',
      number: 1,
    });
    expect(
      (await ensureDashboard(issues, { botLogin: bot, enabled: true, tasks: [task('deps')] })).action,
    ).toBe('unchanged');
    expect(issues.edits).toBe(0);
    expect(
      (await ensureDashboard(issues, { botLogin: bot, enabled: true, tasks: [task('deps'), task('docs')] }))
        .action,
    ).toBe('updated');
    expect((await ensureDashboard(issues, { botLogin: bot, enabled: true, tasks: [] })).action).toBe(
      'closed',
    );
    expect(issues.issues[0]?.state).toBe('closed');
    expect(
      (await ensureDashboard(issues, { botLogin: bot, enabled: false, tasks: [task('deps')] })).action,
    ).toBe('none');
    expect(
      (await ensureDashboard(issues, { botLogin: bot, enabled: true, tasks: [task('deps')] })).action,
    ).toBe('reopened');
    expect(issues.issues).toHaveLength(1);
  });

  it("never adopts someone else's issue that carries the marker", async () => {
    const issues = new MemoryIssues();
    issues.issues.push({
      number: 1,
      title: 'fake',
      body: `${DASHBOARD_MARKER}\n- [x] <!-- pullwright:run-now:deps --> run now`,
      state: 'open',
      author: 'mallory',
      creator: 'mallory',
      isPullRequest: false,
      htmlUrl: '',
      labels: [],
    });
    expect(await ensureDashboard(issues, { botLogin: bot, enabled: true, tasks: [task('deps')] })).toEqual({
      action: 'created',
      number: 2,
    });
    // Mallory's issue is left as it is: never edited, never read for ticks.
    expect(issues.edits).toBe(0);
    expect(issues.issues[0]?.author).toBe('mallory');
  });
});
