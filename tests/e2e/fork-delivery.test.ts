import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ISSUE, type LocalStack } from '../../scripts/local-stack.js';
import { forkNameOf } from '../../src/github/ensure-fork.js';
import { stack, trackingComment, waitFor } from './e2e-helpers.js';

/**
 * `delivery: fork` end to end (issue 14 item 2): GitHub twin, model twin, app, Redis, worker, Docker, git.
 * The agent's branch must reach the operator's fork and never the base repository, where a pushed
 * branch would run the repository's workflows with its secrets. The default still pushes a branch.
 */
const FORK_OWNER = 'pw-forks';

async function assignDemoIssue(s: LocalStack) {
  const { github, repo } = s;
  const { number } = github.seed.issue({
    repo,
    title: DEMO_ISSUE.title,
    body: DEMO_ISSUE.body,
    author: 'alice',
  });
  const { delivery } = await github.actions.assignIssue({
    repo,
    number,
    assignee: github.app.botLogin,
    sender: 'alice',
  });
  expect(delivery.status).toBe(200);
  const done = await waitFor('a finished tracking comment', () => {
    const c = trackingComment(s, number);
    return c && /Done|Failed|refused|without changes/.test(c.body) ? c : null;
  });
  return { number, done };
}

/** Every `push` webhook the twin sent for `repo` (GitHub sends one for each branch pushed there). */
function pushEventsOn(s: LocalStack, repo: string) {
  return s.github.deliveries.filter(
    (d) =>
      d.event === 'push' &&
      (JSON.parse(d.body) as { repository?: { full_name?: string } }).repository?.full_name === repo,
  );
}

describe('delivery: fork, end to end', { timeout: 420_000 }, () => {
  let s: LocalStack;
  let forkInstallation: number;
  beforeAll(async () => {
    s = await stack({
      scenario: 'implement-issue',
      env: { FORK_OWNER, FORCE_FORK_DELIVERY: 'true' },
    });
    s.github.seed.user({ login: FORK_OWNER, type: 'Organization' });
    // The app on the fork organization, all repositories, with what creating a fork needs.
    forkInstallation = s.github.seed.installation({
      account: FORK_OWNER,
      permissions: { metadata: 'read', contents: 'write', administration: 'write' },
    }).id;
  });
  afterAll(async () => {
    await s?.close();
  });

  it('pushes the branch to the fork only, and opens the PR on the base repository from the fork', async () => {
    const { github, repo } = s;
    const [owner = '', name = ''] = repo.split('/');
    const fork = `${FORK_OWNER}/${forkNameOf({ owner, name })}`;
    const branchesBefore = await github.inspect.branches(repo);
    const { number, done } = await assignDemoIssue(s);
    expect(done.body).toContain('✅ Done');
    await github.settled();

    // The base repository got no branch and no push: nothing ran there with its secrets.
    expect(await github.inspect.branches(repo)).toEqual(branchesBefore);
    expect(github.inspect.pushes(repo)).toEqual([]);
    expect(pushEventsOn(s, repo)).toEqual([]);

    // The fork got the branch, pushed by the app through the fork organization's installation.
    const pulls = github.inspect.pulls(repo);
    expect(pulls).toHaveLength(1);
    const pull = pulls[0]!;
    expect(pull.headRepo).toBe(fork);
    expect(pull.head).toMatch(/^pullwright\/issue-\d+-add-and-average-return-wrong-results$/);
    expect(pull.body).toContain(`Fixes #${number}`);
    const forkBranches = await github.inspect.branches(fork);
    expect(forkBranches[pull.head]).toBe(pull.headSha);
    const forkPushes = github.inspect.pushes(fork);
    expect(forkPushes.map((p) => p.ref)).toEqual([`refs/heads/${pull.head}`]);
    expect(
      forkPushes.every(
        (p) => p.pusher.kind === 'installation' && p.pusher.installationId === forkInstallation,
      ),
    ).toBe(true);
    expect(pushEventsOn(s, fork)).toHaveLength(1);

    // The change itself, as the base repository shows it (refs/pull/N/head).
    const diff = await github.inspect.diff(repo, pull.number);
    expect(diff).toMatch(/^\+\s*return a \+ b;/m);
    const [commit] = await github.inspect.commits(fork, pull.head);
    expect(commit?.authorName).toBe(github.app.botLogin);
    expect(commit?.message).toContain('Co-authored-by: alice');
    expect(done.body).toContain(`/pull/${pull.number}`);
  });

  it('a follow-up on its own fork PR pushes to the fork branch again (not refused as a fork), never to the base', async () => {
    const { github, repo } = s;
    const [owner = '', name = ''] = repo.split('/');
    const fork = `${FORK_OWNER}/${forkNameOf({ owner, name })}`;
    const before = github.inspect.pulls(repo)[0]!;
    await waitFor('the first job to finish', async () =>
      (await s.app.taskQueue.queue.getJobs(['waiting', 'delayed', 'active'])).length === 0 ? true : null,
    );
    await github.actions.commentOnIssue({
      repo,
      number: before.number,
      body: '@agent please also keep the changelog tidy',
      sender: 'alice',
    });
    const after = await waitFor('a second push to the fork', () => {
      const p = github.inspect.pull(repo, before.number);
      return p && p.headSha !== before.headSha ? p : null;
    });
    await github.settled();
    expect(after.headRepo).toBe(fork);
    expect(github.inspect.pulls(repo)).toHaveLength(1);
    // Built on top of the first commit in the fork (fast-forward), and still nothing on the base repository.
    const commits = await github.inspect.commits(fork, before.head);
    expect(commits.map((c) => c.sha)).toContain(before.headSha);
    expect((await github.inspect.branches(fork))[before.head]).toBe(after.headSha);
    expect(github.inspect.pushes(repo)).toEqual([]);
    expect(pushEventsOn(s, repo)).toEqual([]);
    const tracking = await waitFor('the follow-up to finish', () => {
      const c = trackingComment(s, before.number);
      return c && /Done|Failed|refused|without changes/.test(c.body) ? c : null;
    });
    expect(tracking.body).toContain('✅ Done');
  });
});

describe('delivery: branch (the default), end to end', { timeout: 420_000 }, () => {
  let s: LocalStack;
  beforeAll(async () => {
    // A fork account exists, but nothing asks for fork delivery: the branch goes to the repository.
    s = await stack({ scenario: 'implement-issue', env: { FORK_OWNER } });
    s.github.seed.user({ login: FORK_OWNER, type: 'Organization' });
    s.github.seed.installation({
      account: FORK_OWNER,
      permissions: { metadata: 'read', contents: 'write', administration: 'write' },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('pushes a branch of the repository and opens the PR from it; no fork is made', async () => {
    const { github, repo } = s;
    const { done } = await assignDemoIssue(s);
    expect(done.body).toContain('✅ Done');
    await github.settled();
    const [pull] = github.inspect.pulls(repo);
    expect(pull?.headRepo).toBe(repo);
    expect((await github.inspect.branches(repo))[pull!.head]).toBe(pull!.headSha);
    expect(github.inspect.pushes(repo).map((p) => p.ref)).toEqual([`refs/heads/${pull!.head}`]);
    expect(pushEventsOn(s, repo)).toHaveLength(1);
    expect(github.inspect.requests().filter((r) => r.path.endsWith('/forks'))).toEqual([]);
  });
});
