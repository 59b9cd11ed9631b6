import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppGitHubPort } from '../../src/github/app-github-port.js';
import type { GitHubPort } from '../../src/github/github-port.js';
import { type GitHubTwin, startGitHubTwin } from '../twins/github/index.js';

describe('createAppGitHubPort against the GitHub twin', () => {
  let twin: GitHubTwin;
  let port: GitHubPort;
  let installationId: number;
  const owner = `o${randomUUID().slice(0, 6)}`;
  const repo = { owner, name: 'app' };
  const full = `${owner}/app`;

  beforeAll(async () => {
    twin = await startGitHubTwin();
    for (const login of [owner, 'writer', 'reader', 'maint']) twin.seed.user({ login });
    await twin.seed.repo({
      owner,
      name: 'app',
      files: { '.github/pullwright.yml': 'verify: [npm test]\n' },
    });
    installationId = twin.seed.installation({ account: owner }).id;
    twin.seed.collaborator(full, 'writer', 'write');
    twin.seed.collaborator(full, 'reader', 'read');
    twin.seed.collaborator(full, 'maint', 'maintain');
    port = createAppGitHubPort({ appId: twin.app.id, privateKey: twin.app.privateKey, baseUrl: twin.url });
  });

  afterAll(async () => {
    await twin?.close();
  });

  it('reports permissions, with none for strangers', async () => {
    expect(await port.getPermission(installationId, repo, 'writer')).toBe('write');
    expect(await port.getPermission(installationId, repo, 'reader')).toBe('read');
    expect(await port.getPermission(installationId, repo, 'maint')).toBe('maintain');
    expect(await port.getPermission(installationId, repo, owner)).toBe('admin');
    twin.seed.user({ login: 'nobody' });
    // Like GitHub, a public repo gives everyone read; either way it is not enough to trigger.
    expect(['none', 'read']).toContain(await port.getPermission(installationId, repo, 'nobody'));
  });

  it('reads the config from the default branch only, and null when absent', async () => {
    await twin.seed.branch({
      repo: full,
      branch: 'evil',
      files: { '.github/pullwright.yml': 'network: { agent: open }\n' },
    });
    const file = await port.getDefaultBranchFile(installationId, repo, '.github/pullwright.yml');
    expect(file?.text).toBe('verify: [npm test]\n');
    expect(file?.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await port.getDefaultBranchFile(installationId, repo, 'missing.yml')).toBeNull();
  });

  it('reacts and comments as the app', async () => {
    const issue = twin.seed.issue({ repo: full, title: 't', author: 'writer' });
    const comment = twin.seed.comment({ repo: full, number: issue.number, body: 'hi', author: 'writer' });
    await port.addReaction(installationId, repo, { kind: 'issue', number: issue.number }, 'eyes');
    await port.addReaction(installationId, repo, { kind: 'issue_comment', commentId: comment.id }, 'eyes');
    await port.createComment(installationId, repo, issue.number, 'hello from the app');
    const reactions = twin.inspect.reactions(full).map((r) => [r.subject, r.subjectId, r.content, r.user]);
    expect(reactions).toEqual(
      expect.arrayContaining([
        ['issue', issue.id, 'eyes', twin.app.botLogin],
        ['issue_comment', comment.id, 'eyes', twin.app.botLogin],
      ]),
    );
    const mine = twin.inspect.comments(full, issue.number).filter((c) => c.author === twin.app.botLogin);
    expect(mine.map((c) => c.body)).toEqual(['hello from the app']);
  });

  it('retries a read through a GitHub blip, but never a write', async () => {
    const read = twin.faults.add({
      method: 'GET',
      path: `/repos/${full}/collaborators/**`,
      kind: 'status',
      status: 502,
      times: 2,
    });
    const write = twin.faults.add({
      method: 'POST',
      path: `/repos/${full}/issues/*/comments`,
      kind: 'status',
      status: 502,
      times: 1,
    });
    try {
      expect(await port.getPermission(installationId, repo, 'writer')).toBe('write');
      const issue = twin.seed.issue({ repo: full, title: 'w', author: 'writer' });
      // A 502 can hide a comment GitHub did post: trying again could post it twice.
      await expect(port.createComment(installationId, repo, issue.number, 'once')).rejects.toMatchObject({
        code: 'upstream_unavailable',
      });
      const fired = Object.fromEntries(twin.faults.list().map((f) => [f.id, f.fired]));
      expect(fired).toEqual({ [read]: 2, [write]: 1 });
    } finally {
      twin.faults.remove(read);
      twin.faults.remove(write);
    }
  });

  it('maps GitHub failures to typed errors', async () => {
    // More failures than the port's attempts: the blip outlasts its retries.
    const id = twin.faults.add({
      path: `/repos/${full}/collaborators/**`,
      kind: 'status',
      status: 502,
      times: 3,
    });
    try {
      await expect(port.getPermission(installationId, repo, 'writer')).rejects.toMatchObject({
        code: 'upstream_unavailable',
      });
    } finally {
      twin.faults.remove(id);
    }
    await expect(
      port.addReaction(installationId, { owner, name: 'nope' }, { kind: 'issue', number: 1 }, 'eyes'),
    ).rejects.toMatchObject({ code: expect.stringMatching(/not_found|forbidden/) });
  });
});
