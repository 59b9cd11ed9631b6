import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenReader } from '../../src/github/token-reader.js';
import { type GitHubTwin, startGitHubTwin } from '../twins/github/index.js';

describe('createTokenReader against the twin', () => {
  let twin: GitHubTwin;
  let token: string;
  let pr: number;
  let issue: number;

  beforeAll(async () => {
    twin = await startGitHubTwin();
    token = twin.seed.user({ login: 'alice' }).token;
    await twin.seed.repo({ owner: 'alice', name: 'priv', private: true, files: { 'a.txt': 'a\n' } });
    issue = twin.seed.issue({ repo: 'alice/priv', title: 'Bug', body: 'It breaks', author: 'alice' }).number;
    await twin.seed.branch({ repo: 'alice/priv', branch: 'fix', files: { 'a.txt': 'b\n' } });
    pr = (
      await twin.seed.pullRequest({
        repo: 'alice/priv',
        head: 'fix',
        title: 'Fix',
        body: `Fixes #${issue}`,
        author: 'alice',
      })
    ).number;
  });

  afterAll(async () => {
    await twin?.close();
  });

  it('reads a pull request and an issue with a person’s token, and is refused without one', async () => {
    const reader = createTokenReader({ apiUrl: twin.url, token });
    const repo = { owner: 'alice', name: 'priv' };
    expect(await reader.getPull(repo, pr)).toEqual({
      number: pr,
      title: 'Fix',
      body: `Fixes #${issue}`,
      merged: false,
      mergeCommitSha: null,
    });
    expect(await reader.getIssue(repo, issue)).toMatchObject({
      title: 'Bug',
      body: 'It breaks',
      isPullRequest: false,
    });
    // A private repository is invisible without the token: GitHub answers 404.
    await expect(createTokenReader({ apiUrl: twin.url }).getIssue(repo, issue)).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});
