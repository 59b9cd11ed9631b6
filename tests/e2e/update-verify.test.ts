import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../scripts/local-stack.js';
import { stack, trackingComment, waitFor } from './e2e-helpers.js';

/**
 * Issue 15 item 2, a semantic conflict: the base merges into the branch without a textual
 * conflict, but the result does not work (the base renamed a function the branch calls). The
 * update runs the repository's verify commands on the merge in a fresh container before
 * pushing; a failing verify is reported and nothing is pushed (twin GitHub, app, Redis,
 * worker, Docker, git; no agent runs).
 */
const LIB = "export const greet = (name) => 'hi ' + name;\n";
const LIB_TEST = [
  "import { test } from 'node:test';",
  "import assert from 'node:assert';",
  "import { greet } from './lib.mjs';",
  "test('greets', () => assert.equal(greet('a'), 'hi a'));",
  '',
].join('\n');

describe('update-branch verifies a clean merge before pushing, end to end', { timeout: 480_000 }, () => {
  let s: LocalStack;
  beforeAll(async () => {
    s = await stack({
      scenario: 'follow-through',
      repoFiles: {
        'semantic/lib.mjs': LIB,
        'semantic/lib.test.mjs': LIB_TEST,
        '.github/pullwright.yml': ['verify:', '  - node --test semantic/', ''].join('\n'),
      },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('does not push a merge whose verify fails (a function renamed on the base, still called on the branch)', async () => {
    const { github, repo } = s;
    // A person's PR that calls greet() in a new test: green on its own.
    const { sha: head } = await github.actions.pushFiles({
      repo,
      branch: 'feature/uses-greet',
      files: { 'semantic/extra.test.mjs': LIB_TEST.replace("'greets'", "'greets again'") },
      message: 'another greeting test',
      sender: 'alice',
    });
    const { number } = await github.seed.pullRequest({
      repo,
      head: 'feature/uses-greet',
      title: 'More greeting tests',
      author: 'alice',
    });
    // The base renames greet to hello, with its own callers: no file overlaps the branch's change.
    await github.actions.pushFiles({
      repo,
      branch: 'main',
      files: {
        'semantic/lib.mjs': LIB.replace('greet', 'hello'),
        'semantic/lib.test.mjs': LIB_TEST.replaceAll('greet(', 'hello(').replace('{ greet }', '{ hello }'),
      },
      message: 'rename greet to hello',
      sender: 'alice',
    });
    await github.actions.commentOnIssue({ repo, number, body: '@agent update', sender: 'alice' });
    const report = await waitFor('the update report', () => {
      const c = trackingComment(s, number);
      return c && !c.body.includes('⏳') ? c : null;
    });
    expect(report.body).toContain('has no conflicts, but verification failed on the result');
    expect(report.body).toContain('node --test semantic/');
    expect(report.body).toContain('nothing was pushed');
    expect(github.inspect.pull(repo, number)?.headSha).toBe(head);
    expect((await github.inspect.branches(repo))['feature/uses-greet']).toBe(head);

    // The control: once the branch calls the new name, the same update verifies and is pushed.
    await waitFor('the queue to drain', async () =>
      (await s.app.taskQueue.queue.getJobs(['waiting', 'delayed', 'active'])).length === 0 ? true : null,
    );
    const { sha: fixed } = await github.actions.pushFiles({
      repo,
      branch: 'feature/uses-greet',
      files: {
        'semantic/extra.test.mjs': LIB_TEST.replace("'greets'", "'greets again'")
          .replaceAll('greet(', 'hello(')
          .replace('{ greet }', '{ hello }'),
      },
      message: 'call hello',
      sender: 'alice',
    });
    await github.actions.commentOnIssue({ repo, number, body: '@agent update', sender: 'alice' });
    const merged = await waitFor('the merge pushed', () => {
      const now = github.inspect.pull(repo, number);
      return now && now.headSha !== fixed ? now : null;
    });
    const commits = await github.inspect.commits(repo, merged.head);
    expect(commits[0]?.parents).toHaveLength(2);
    expect(commits[0]?.parents[0]).toBe(fixed);
    expect(await github.inspect.file(repo, merged.head, 'semantic/lib.mjs')).toContain('hello');
  });
});
