import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../scripts/local-stack.js';
import type { RepoGitHub } from '../../src/github/github-for-worker.js';
import { createOctokitGitHubForWorker } from '../../src/github/octokit-github-for-worker.js';
import { log, stack, trackingComment, waitFor } from './e2e-helpers.js';

/**
 * Issue 15 items 2, 3 and 5 end to end (twin GitHub, model twin, real Redis, Docker, git):
 * the base moves with a conflict on a PR a person also committed to; review threads are
 * resolved with the commit SHA and a declined one left open; a question is asked, answered
 * and the next run resumes from it. No verify commands here, so each run stays short.
 */
describe('follow-through: branch updates, review threads, questions', { timeout: 600_000 }, () => {
  let s: LocalStack;
  let api: RepoGitHub;
  beforeAll(async () => {
    s = await stack({
      scenario: 'follow-through',
      repoFiles: { '.github/pullwright.yml': 'pr:\n  labels: [pullwright]\n' },
    });
    const gh = createOctokitGitHubForWorker({
      appId: s.github.app.id,
      privateKey: s.github.app.privateKey,
      baseUrl: s.github.url,
      log,
    });
    api = await gh.forRepo(s.installationId, { owner: 'alice', name: 'mathlib' });
  });
  afterAll(async () => {
    await s?.close();
  });

  async function openPull(title: string) {
    const { github, repo } = s;
    const { number } = github.seed.issue({ repo, title, body: 'Please do it.', author: 'alice' });
    await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    return waitFor('the pull request', () =>
      github.inspect.pulls(repo).find((p) => p.body.includes(`Fixes #${number}`)),
    );
  }

  it("merges a conflicting base into a PR with a person's commit: the agent resolves it, the PR is mergeable, nothing is force-pushed", async () => {
    const { github, repo } = s;
    const pull = await openPull('Changelog line [changelog-only]');
    // A person commits to the PR's branch: from now on it is merged into, never rewritten.
    const { sha: personSha } = await github.actions.pushFiles({
      repo,
      branch: pull.head,
      files: { 'NOTES.md': 'from alice\n' },
      message: 'alice adds notes',
      sender: 'alice',
    });
    // The base moves with a change on the same CHANGELOG lines: the PR conflicts.
    const changelog = (await github.inspect.file(repo, 'main', 'CHANGELOG.md'))!;
    const { sha: mainSha } = await github.actions.pushFiles({
      repo,
      branch: 'main',
      files: { 'CHANGELOG.md': changelog.replace('## Unreleased\n', '## Unreleased\n\n- Main moved on.\n') },
      message: 'main: changelog',
      sender: 'alice',
    });
    const updated = await waitFor('the merge commit', () => {
      const now = github.inspect.pull(repo, pull.number);
      return now && now.headSha !== personSha ? now : null;
    });
    const commits = await github.inspect.commits(repo, updated.head);
    const merge = commits.find((c) => c.sha === updated.headSha)!;
    expect(merge.parents).toEqual([personSha, mainSha]);
    expect(merge.authorName).toBe(github.app.botLogin);
    const text = (await github.inspect.file(repo, updated.head, 'CHANGELOG.md'))!;
    expect(text).toContain('- Main moved on.');
    expect(text).toContain('- Follow-through: a changelog entry.');
    expect(text).not.toMatch(/^(<{7}|>{7}|\|{7}) /m);
    expect(await github.inspect.file(repo, updated.head, 'NOTES.md')).toBe('from alice\n');
    // Every push of the app to the branch was a fast-forward (its `before` is in the history).
    const shas = new Set(commits.map((c) => c.sha));
    const appPushes = github.inspect
      .pushes(repo)
      .filter((p) => p.ref === `refs/heads/${pull.head}` && p.pusher.kind === 'installation');
    expect(appPushes.length).toBeGreaterThanOrEqual(2);
    for (const p of appPushes) if (!/^0+$/.test(p.before)) expect(shas.has(p.before)).toBe(true);
    await github.ci.settleMergeability(repo, pull.number);
    const after = await api.getPullMergeability(pull.number, { timeoutMs: 20_000 });
    expect(after.mergeable).toBe(true);
    const report = await waitFor('the update report', () => {
      const c = trackingComment(s, pull.number);
      return c?.body.includes('✅') ? c : null;
    });
    expect(report.body).toContain('resolved the conflicts in `CHANGELOG.md`');
  });

  it('resolves the addressed review thread with the commit SHA and leaves the declined one open', async () => {
    const { github, repo } = s;
    const pull = await openPull('Fix the math');
    const one = await github.actions.reviewComment({
      repo,
      number: pull.number,
      sender: 'alice',
      body: 'Please explain this file in a comment.',
      path: 'src/math.js',
      line: 1,
    });
    const two = await github.actions.reviewComment({
      repo,
      number: pull.number,
      sender: 'alice',
      body: 'Rename add() to sum().',
      path: 'README.md',
      line: 1,
    });
    await github.actions.commentOnIssue({
      repo,
      number: pull.number,
      body: '@agent address review',
      sender: 'alice',
    });
    const replies = await waitFor('a reply in both threads', () => {
      const mine = github.inspect
        .reviewComments(repo, pull.number)
        .filter((c) => c.author === github.app.botLogin);
      return mine.length >= 2 ? mine : null;
    });
    const replyIn = (threadId: string) => replies.find((c) => c.threadId === threadId)?.body ?? '';
    const threads = await waitFor(
      'the addressed thread resolved',
      async () => {
        const list = await api.listReviewThreads(pull.number);
        return list.some((t) => t.isResolved) ? list : null;
      },
      30_000,
    );
    const head = github.inspect.pull(repo, pull.number)!.headSha;
    const first = threads.find((t) => t.id === one.threadId)!;
    const second = threads.find((t) => t.id === two.threadId)!;
    expect(first.isResolved).toBe(true);
    expect(replyIn(one.threadId)).toContain(`Addressed in ${head}`);
    expect(second.isResolved).toBe(false);
    expect(replyIn(two.threadId)).toContain('I disagree');
    expect(replyIn(two.threadId)).toContain('Left open');
  });

  it('asks a question, stops without pushing, and resumes from the question when a writer answers', async () => {
    const { github, repo } = s;
    const { number } = github.seed.issue({
      repo,
      title: 'Pick a default [ask]',
      body: 'A or B?',
      author: 'alice',
    });
    await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    const asked = await waitFor('the question', () => {
      const c = trackingComment(s, number);
      return c?.body.includes('Waiting for an answer') ? c : null;
    });
    expect(asked.body).toContain('Should the new option default to A or B?');
    expect(github.inspect.pulls(repo).some((p) => p.body.includes(`Fixes #${number}`))).toBe(false);

    const requestsBefore = s.model!.requests.length;
    await github.actions.commentOnIssue({ repo, number, body: '@agent Use B', sender: 'alice' });
    const pull = await waitFor('the pull request', () =>
      github.inspect.pulls(repo).find((p) => p.body.includes(`Fixes #${number}`)),
    );
    const decision = await github.inspect.file(repo, pull.head, 'DECISION.md');
    expect(decision).toContain('Asked: Should the new option default to A or B?');
    expect(decision).toContain('Answer: Use B');
    // The resumed run's first message carried the question and the answer, fenced.
    const resumed = JSON.stringify(s.model!.requests.slice(requestsBefore)[0]);
    expect(resumed).toContain('earlier question');
    expect(resumed).toContain('Use B');
    const done = await waitFor('the resumed report', () => {
      const c = trackingComment(s, number);
      return c?.body.includes('✅') ? c : null;
    });
    expect(done.body).toContain('Resuming after the earlier question');
    expect(done.body).not.toContain('pullwright:question');
  });

  it('rebases on "@agent rebase" when every commit is Pullwright\'s, with a lease', async () => {
    const { github, repo } = s;
    const pull = await openPull('Fix the math for rebase');
    const readme = (await github.inspect.file(repo, 'main', 'README.md'))!;
    const { sha: mainSha } = await github.actions.pushFiles({
      repo,
      branch: 'main',
      files: { 'README.md': `${readme}\nMore docs.\n` },
      message: 'main: docs',
      sender: 'alice',
    });
    await github.actions.commentOnIssue({
      repo,
      number: pull.number,
      body: '@agent rebase',
      sender: 'alice',
    });
    const rebased = await waitFor('the rebased head', () => {
      const now = github.inspect.pull(repo, pull.number);
      return now && now.headSha !== pull.headSha ? now : null;
    });
    const commits = await github.inspect.commits(repo, rebased.head);
    const head = commits.find((c) => c.sha === rebased.headSha)!;
    // Replayed onto the new base: one parent, the base's head; the old head is gone from the branch.
    expect(head.parents).toEqual([mainSha]);
    expect(commits.map((c) => c.sha)).not.toContain(pull.headSha);
    expect(await github.inspect.file(repo, rebased.head, 'README.md')).toContain('More docs.');
    const report = await waitFor('the rebase report', () => {
      const c = trackingComment(s, pull.number);
      return c?.body.includes('Rebased') ? c : null;
    });
    expect(report.body).toContain('with a lease');
  });
});
