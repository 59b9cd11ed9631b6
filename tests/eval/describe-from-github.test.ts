import { describe, expect, it } from 'vitest';
import { PullwrightError } from '../../src/errors.js';
import type { TokenReader } from '../../src/github/token-reader.js';
import {
  apiUrlFor,
  closedIssueNumbers,
  createGitHubTaskDescriber,
  parseGitHubRemote,
} from '../../worker/eval/describe-from-github.js';
import type { EvalTask } from '../../worker/eval/find-eval-tasks.js';

const repo = { host: 'github.com', owner: 'octo', name: 'lib' };
const task: EvalTask = {
  sha: 'a'.repeat(40),
  parentSha: 'b'.repeat(40),
  kind: 'merge',
  subject: 'padLeft fix',
  text: 'padLeft fix',
  source: 'commit-message',
  pullNumber: 7,
  testPaths: ['tests/pad.test.js'],
  codePaths: ['src/pad.js'],
};

function reader(
  pulls: Record<number, { body: string | null; merged?: boolean }>,
  issues: Record<number, { title: string; body: string; pr?: boolean }>,
): TokenReader {
  return {
    async getPull(_r, n) {
      const p = pulls[n];
      if (!p) throw new PullwrightError('not_found', 'no pull');
      return { number: n, title: `PR ${n}`, body: p.body, merged: p.merged ?? true, mergeCommitSha: null };
    },
    async getIssue(_r, n) {
      const i = issues[n];
      if (!i) throw new PullwrightError('not_found', 'no issue');
      return { title: i.title, body: i.body, isPullRequest: i.pr ?? false } as Awaited<
        ReturnType<TokenReader['getIssue']>
      >;
    },
  };
}

describe('eval tasks from GitHub', () => {
  it('reads GitHub remotes and picks the API', () => {
    expect(parseGitHubRemote('https://github.com/octo/lib.git')).toEqual(repo);
    expect(parseGitHubRemote('git@github.com:octo/lib.git')).toEqual(repo);
    expect(parseGitHubRemote('ssh://git@ghe.corp:22/octo/lib')).toEqual({
      host: 'ghe.corp',
      owner: 'octo',
      name: 'lib',
    });
    expect(parseGitHubRemote('/srv/git/lib.git')).toBeNull();
    const cfg = { apiUrl: 'https://api.github.com', gitUrl: 'https://github.com' };
    expect(apiUrlFor('github.com', cfg)).toBe('https://api.github.com');
    expect(apiUrlFor('ghe.corp', cfg)).toBe('https://ghe.corp/api/v3');
    expect(apiUrlFor('127.0.0.1:9', { apiUrl: 'http://127.0.0.1:9', gitUrl: 'http://127.0.0.1:9' })).toBe(
      'http://127.0.0.1:9',
    );
  });

  it('finds the issues a pull request closes, in this repository only', () => {
    expect(
      closedIssueNumbers('Fixes #3, closes octo/lib#4 and resolves other/repo#5. See #6.', repo),
    ).toEqual([3, 4]);
    expect(closedIssueNumbers(null, repo)).toEqual([]);
  });

  it("makes the closed issue the task, else the pull request's description, else keeps the commit message", async () => {
    const describe = createGitHubTaskDescriber(
      reader(
        { 7: { body: 'Fixes #3' }, 8: { body: 'No issue here' }, 9: { body: 'Fixes #3', merged: false } },
        { 3: { title: 'Padding breaks', body: 'padLeft throws on long strings' } },
      ),
      repo,
    );
    expect(await describe(task)).toMatchObject({
      text: 'Padding breaks\n\npadLeft throws on long strings',
      source: 'issue',
      issue: 'octo/lib#3',
    });
    expect(await describe({ ...task, pullNumber: 8 })).toMatchObject({
      text: 'PR 8\n\nNo issue here',
      source: 'pull-request',
    });
    expect((await describe({ ...task, pullNumber: 9 })).source).toBe('commit-message');
    expect((await describe({ ...task, pullNumber: 404 })).source).toBe('commit-message');
    const plain = { ...task, pullNumber: undefined };
    expect(await describe(plain)).toBe(plain);
  });
});
