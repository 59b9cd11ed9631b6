import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ISSUE, type LocalStack } from '../../scripts/local-stack.js';
import { finish, reply, type Scenario, tool, toolExchanges } from '../twins/model/index.js';
import { containerLabels, sandboxContainers, stack, trackingComment, waitFor } from './e2e-helpers.js';

/** A scripted agent that makes the given edits, one per turn, then finishes. */
function editsScenario(
  name: string,
  edits: Record<string, unknown>[],
  summary = 'Done.',
  threads?: { thread: number; reply: string }[],
): Scenario {
  return {
    name,
    description: 'test: fixed edits',
    respond(request) {
      const done = toolExchanges(request).length;
      const next = edits[done];
      return next ? reply(tool('str_replace_based_edit_tool', next)) : finish(summary, threads);
    },
  };
}

/** A scripted agent that runs one long command. */
const sleeper: Scenario = {
  name: 'sleeper',
  description: 'test: one long command',
  respond(request) {
    return toolExchanges(request).length === 0
      ? reply(tool('bash', { command: 'sleep 300', timeout_ms: 400_000 }))
      : finish('slept');
  },
};

async function finished(s: LocalStack, number: number) {
  return waitFor('a finished tracking comment', () => {
    const c = trackingComment(s, number);
    return c && !c.body.includes('⏳') ? c : null;
  });
}

describe('review, revise, safety and resilience, end to end', { timeout: 420_000 }, () => {
  let s: LocalStack;
  beforeAll(async () => {
    // No agent-container pool here: the stop test below finds the job's sandbox by this instance's
    // label and checks the job label a flow puts on it, and a waiting pooled container (made before
    // any job, so without a job label, and replaced after each take) would be counted too. The
    // pool's own lifecycle is tested in tests/integration/agent-sandbox-pool.test.ts.
    s = await stack({ scenario: 'implement-issue', env: { SANDBOX_POOL_SIZE: '0' } });
  });
  afterAll(async () => {
    await s?.close();
  });

  async function openPullViaIssue(title: string) {
    const { github, repo } = s;
    s.model?.setScenario('implement-issue');
    const { number } = github.seed.issue({ repo, title, body: DEMO_ISSUE.body, author: 'alice' });
    await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    const done = await finished(s, number);
    const pull = github.inspect.pulls(repo).find((p) => p.body.includes(`Fixes #${number}`));
    expect(pull, done.body).toBeDefined();
    return pull!;
  }

  it('addresses every unresolved review thread with new commits and replies', async () => {
    const { github, repo } = s;
    const pull = await openPullViaIssue('Review me');
    const thread = await github.actions.reviewComment({
      repo,
      number: pull.number,
      sender: 'alice',
      body: 'Please add a note about rounding to the README.',
      path: 'src/math.js',
      line: 1,
    });
    s.model?.setScenario(
      editsScenario(
        'add-readme-note',
        [
          {
            command: 'str_replace',
            path: 'README.md',
            old_str: '# twin-sample\n',
            new_str: '# twin-sample\n\nAverages are not rounded.\n',
          },
        ],
        'Added a note about rounding to the README.',
        [{ thread: 1, reply: 'The README now says averages are not rounded.' }],
      ),
    );
    await github.actions.commentOnIssue({
      repo,
      number: pull.number,
      body: '@agent address review',
      sender: 'alice',
    });
    await waitFor('a reply in the thread', () =>
      github.inspect
        .reviewComments(repo, pull.number)
        .find((c) => c.body.startsWith('Looked at this') || c.body.startsWith('Addressed')),
    );
    const after = github.inspect.pull(repo, pull.number)!;
    expect(after.headSha).not.toBe(pull.headSha);
    const commits = await github.inspect.commits(repo, pull.head);
    expect(commits.map((c) => c.sha)).toContain(pull.headSha); // built on top, never force-pushed
    expect(await github.inspect.file(repo, pull.head, 'README.md')).toContain('Averages are not rounded.');
    const replies = github.inspect
      .reviewComments(repo, pull.number)
      .filter((c) => c.author === github.app.botLogin);
    expect(replies).toHaveLength(1);
    expect(replies[0]?.body).toContain(after.headSha.slice(0, 7));
    // The agent's own words for this thread, not the run's summary.
    expect(replies[0]?.body).toContain('The README now says averages are not rounded.');
    expect(thread.threadId).toBeTruthy();
  });

  it('applies an @agent instruction on a PR as a revision', async () => {
    const { github, repo } = s;
    const pull = await openPullViaIssue('Revise me');
    s.model?.setScenario(
      editsScenario(
        'add-license',
        [{ command: 'create', path: 'LICENSE', file_text: 'MIT\n' }],
        'Added a LICENSE file.',
      ),
    );
    await github.actions.commentOnIssue({
      repo,
      number: pull.number,
      body: '@agent add an MIT LICENSE file',
      sender: 'alice',
    });
    await waitFor(
      'the revision',
      async () => (await github.inspect.file(repo, pull.head, 'LICENSE')) === 'MIT\n',
    );
  });

  it('refuses a change to a protected path and a secret, with a clear comment and no push', async () => {
    const { github, repo } = s;
    s.model?.setScenario(
      editsScenario('bad-change', [
        { command: 'create', path: '.github/workflows/exfiltrate.yml', file_text: 'on: push\n' },
        {
          command: 'create',
          path: 'config.js',
          file_text: `export const token = 'ghp_${'a1B2c3D4e5'.repeat(4)}';\n`,
        },
      ]),
    );
    const branchesBefore = Object.keys(await github.inspect.branches(repo)).length;
    const { number } = github.seed.issue({ repo, title: 'Add CI', body: 'please', author: 'alice' });
    await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    const done = await finished(s, number);
    expect(done.body).toContain('Change refused');
    expect(done.body).toContain('.github/workflows/exfiltrate.yml');
    expect(done.body).toContain('GitHub token');
    expect(done.body).not.toContain('ghp_');
    expect(Object.keys(await github.inspect.branches(repo)).length).toBe(branchesBefore);
  });

  it('refuses a pull request from a fork with an explanation, and runs or pushes nothing', async () => {
    const { github, repo } = s;
    const fork = await github.seed.fork({ repo, owner: 'mallory' });
    // A fork can name its branch anything, including what Pullwright's own branches are called.
    await github.seed.branch({
      repo: fork.fullName,
      branch: 'pullwright/issue-1',
      files: { 'src/math.js': 'export const steal = process.env;\n' },
    });
    const { number } = await github.seed.pullRequest({
      repo,
      headRepo: fork.fullName,
      head: 'pullwright/issue-1',
      title: 'Faster math',
      author: 'mallory',
    });
    await github.seed.reviewThread({
      repo,
      number,
      path: 'src/math.js',
      line: 1,
      comments: [{ author: 'alice', body: 'Please tidy this up.' }],
    });
    const baseBefore = await github.inspect.branches(repo);
    const forkBefore = await github.inspect.branches(fork.fullName);
    const modelRequests = s.model?.requests.length ?? 0;
    await github.actions.commentOnIssue({ repo, number, body: '@agent address review', sender: 'alice' });
    const done = await finished(s, number);
    expect(done.body).toContain('from a fork');
    expect(await github.inspect.branches(repo)).toEqual(baseBefore);
    expect(await github.inspect.branches(fork.fullName)).toEqual(forkBefore);
    expect(github.inspect.pushes(fork.fullName)).toEqual([]);
    // Refused before any agent ran: the model was never asked.
    expect(s.model?.requests.length ?? 0).toBe(modelRequests);
    expect(
      github.inspect.reviewComments(repo, number).filter((c) => c.author === github.app.botLogin),
    ).toEqual([]);
  });

  it('stops a running job on "@agent stop", removes its sandbox and says so', async () => {
    const { github, repo } = s;
    s.model?.setScenario(sleeper);
    const { number } = github.seed.issue({ repo, title: 'Take your time', body: 'slowly', author: 'alice' });
    await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
    const instance = s.workers[0]!.instanceId;
    const asked = s.model?.requests.length ?? 0;
    // The model has answered with the long command and its sandbox is running it.
    await waitFor('the agent to start', () => (s.model?.requests.length ?? 0) > asked);
    await waitFor('its sandbox', () => sandboxContainers(`dev.pullwright.instance=${instance}`).length > 0);
    // Bug 6: a flow's sandbox carries the provider's host label (the runtime's host id, here the
    // machine's hostname), beside the job's own label; the flow no longer sets a host label itself.
    const [container] = sandboxContainers(`dev.pullwright.instance=${instance}`);
    expect(containerLabels(container as string)).toMatchObject({
      'dev.pullwright.host': hostname(),
      'dev.pullwright.job': expect.any(String),
    });
    await new Promise((r) => setTimeout(r, 1_000));
    await github.actions.commentOnIssue({ repo, number, body: '@agent stop', sender: 'alice' });
    const done = await finished(s, number);
    expect(done.body).toContain('Cancelled');
    await waitFor(
      'the sandbox to be removed',
      () => sandboxContainers(`dev.pullwright.instance=${instance}`).length === 0,
      30_000,
    );
  });

  it("survives the twin's 502s and secondary rate limits and the model's 529s", async () => {
    const { github, repo } = s;
    s.model?.setScenario('implement-issue');
    github.faults.add({ kind: 'status', status: 502, path: '/repos/**', probability: 0.15 });
    github.faults.add({
      kind: 'secondary-rate-limit',
      retryAfter: 1,
      path: '/repos/*/*/issues/comments/*',
      times: 2,
    });
    s.model?.faults.add({ status: 529, times: 2 });
    try {
      const { number } = github.seed.issue({
        repo,
        title: 'Flaky weather',
        body: DEMO_ISSUE.body,
        author: 'alice',
      });
      await github.actions.assignIssue({ repo, number, assignee: github.app.botLogin, sender: 'alice' });
      const done = await finished(s, number);
      expect(done.body).toContain('✅ Done');
      expect(github.inspect.pulls(repo).filter((p) => p.body.includes(`Fixes #${number}`))).toHaveLength(1);
    } finally {
      github.faults.clear();
      s.model?.faults.clear();
    }
  });
});
