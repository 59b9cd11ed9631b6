import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ISSUE, type LocalStack } from '../../scripts/local-stack.js';
import { jobsOf, stack, trackingComment, waitFor } from './e2e-helpers.js';

/** Issue → PR through everything real: GitHub twin, model twin, app, Redis, worker, Docker, git. */
describe('implement an issue, end to end', { timeout: 420_000 }, () => {
  let s: LocalStack;
  beforeAll(async () => {
    s = await stack({ scenario: 'implement-issue' });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('assignment opens one PR that fixes the issue, with one tracking comment', async () => {
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
    // A redelivery while the run is going yields no second run.
    const again = await github.redeliver(delivery.id);
    expect(again.status).toBe(200);

    const done = await waitFor('a finished tracking comment', () => {
      const c = trackingComment(s, number);
      return c && /Done|Failed|refused|without changes/.test(c.body) ? c : null;
    });
    expect(done.body).toContain('✅ Done');
    const pulls = github.inspect.pulls(repo);
    expect(pulls).toHaveLength(1);
    const pull = pulls[0]!;
    expect(pull.head).toMatch(/^pullwright\/issue-\d+-add-and-average-return-wrong-results$/);
    expect(pull.body).toContain(`Fixes #${number}`);
    expect(pull.body).toContain('`npm test` — ✅ passed');
    expect(pull.draft).toBe(false);
    expect(done.body).toContain(`/pull/${pull.number}`);
    expect(done.body).toMatch(/tokens/);

    const diff = await github.inspect.diff(repo, pull.number);
    expect(diff).toMatch(/^\+\s*return a \+ b;/m);
    expect(diff).toContain('CHANGELOG.md');
    const [commit] = await github.inspect.commits(repo, pull.head);
    expect(commit?.authorName).toBe(github.app.botLogin);
    expect(commit?.message).toContain('Co-authored-by: alice');
    expect(github.inspect.pushes(repo).every((p) => p.pusher.kind === 'installation')).toBe(true);
    expect(github.inspect.reactions(repo).some((r) => r.content === 'eyes')).toBe(true);
    expect(
      github.inspect.comments(repo, number).filter((c) => c.body.includes('pullwright:tracking')),
    ).toHaveLength(1);
    expect((await jobsOf(s)).filter((j) => j.name === 'implement')).toHaveLength(1);
    // The model twin saw no secret: no token or key in anything the agent was sent.
    const sent = JSON.stringify(s.model?.requests.map((r) => r.body));
    expect(sent).not.toMatch(/ghs_|ghp_|BEGIN RSA|PRIVATE KEY/);
  });

  it('asking again updates the same branch and PR', async () => {
    const { github, repo } = s;
    const issue = github.inspect.issues(repo).find((i) => i.title === DEMO_ISSUE.title)!;
    const before = github.inspect.pulls(repo)[0]!;
    await waitFor('the first job to finish', async () =>
      (await jobsOf(s)).every((j) => j.finishedOn !== undefined),
    );
    await github.actions.commentOnIssue({
      repo,
      number: issue.number,
      body: '@agent please also keep the changelog tidy',
      sender: 'alice',
    });
    await waitFor('a second push', () => {
      const p = github.inspect.pulls(repo)[0];
      return p && p.headSha !== before.headSha ? p : null;
    });
    expect(github.inspect.pulls(repo)).toHaveLength(1);
    const commits = await github.inspect.commits(repo, before.head);
    // A new commit on top of the old one: never a force-push.
    expect(commits.some((c) => c.sha === before.headSha)).toBe(true);
  });
});
