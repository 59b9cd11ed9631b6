import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appJwt, bearer, conformanceKit, tok } from './conformance-kit.js';
import { startGitHubTwin } from './index.js';
import { loadOpenApi, type OpenApiValidator } from './openapi.js';
import type { GitHubTwin } from './types.js';

/**
 * Every endpoint the twin serves is exercised here with success and error statuses, and each JSON
 * body must validate against GitHub's OpenAPI description for that path, method and status.
 * Over 400 lines on purpose: the final `coverage` test reads every check the other tests recorded
 * in this file's run, so the checks stay in one file (one describe per resource).
 */

let api: OpenApiValidator;
let twin: GitHubTwin;
let token: string;
let otherToken: string;
let jwt: string;
let bobToken: string;
let carolToken: string;
let prNumber: number;
let issueNumber: number;
let reviewCommentId: number;
let issueCommentId: number;

const kit = conformanceKit({ api: () => api, url: () => twin.url });
const { call, check } = kit;

beforeAll(async () => {
  api = loadOpenApi();
  // A fork stays invisible this long after its 202, so the test can see it appear.
  twin = await startGitHubTwin({ forkDelayMs: 3_000 });
  for (const login of ['alice', 'bob', 'carol', 'dave']) twin.seed.user({ login });
  bobToken = twin.seed.user({ login: 'bob' }).token;
  carolToken = twin.seed.user({ login: 'carol' }).token;
  await twin.seed.repo({
    owner: 'alice',
    name: 'demo',
    files: {
      'README.md': '# demo\n',
      'src/a.ts': 'export const a = 1;\n',
      '.github/pullwright.yml': 'x: 1\n',
    },
  });
  await twin.seed.repo({ owner: 'alice', name: 'secret', private: true });
  await twin.seed.repo({ owner: 'dave', name: 'elsewhere' });
  const inst = twin.seed.installation({ account: 'alice' });
  const other = twin.seed.installation({ account: 'dave' });
  twin.seed.collaborator('alice/demo', 'bob', 'write');
  token = twin.createInstallationToken(inst.id).token;
  otherToken = twin.createInstallationToken(other.id).token;
  jwt = appJwt(twin.app.privateKey, twin.app.id);
  issueNumber = twin.seed.issue({
    repo: 'alice/demo',
    title: 'Bug',
    body: 'It breaks',
    author: 'bob',
  }).number;
  issueCommentId = twin.seed.comment({
    repo: 'alice/demo',
    number: issueNumber,
    body: 'me too',
    author: 'alice',
  }).id;
  await twin.seed.branch({
    repo: 'alice/demo',
    branch: 'feature',
    files: { 'src/b.ts': 'export const b = 2;\n' },
  });
  await twin.seed.branch({ repo: 'alice/demo', branch: 'same', files: {} });
  prNumber = (
    await twin.seed.pullRequest({ repo: 'alice/demo', head: 'feature', title: 'Add b', author: 'bob' })
  ).number;
  twin.seed.review({
    repo: 'alice/demo',
    number: prNumber,
    author: 'alice',
    state: 'CHANGES_REQUESTED',
    body: 'fix',
  });
  const thread = twin.seed.reviewThread({
    repo: 'alice/demo',
    number: prNumber,
    path: 'src/b.ts',
    line: 1,
    comments: [{ author: 'alice', body: 'rename b' }],
  });
  reviewCommentId = thread.commentIds[0]!;
}, 60_000);

afterAll(async () => {
  await twin?.close();
});

describe('app endpoints (JWT)', () => {
  it('GET /app', async () => {
    await check('GET', '/app', '/app', 200, { auth: bearer(jwt) });
    await check('GET', '/app', '/app', 401, {
      auth: bearer(appJwt(twin.app.privateKey, twin.app.id, -3600)),
    });
    await check('GET', '/app', '/app', 401, { auth: bearer(token) });
  });

  it('GET /app/installations and /app/installations/{id}', async () => {
    const list = await check('GET', '/app/installations', '/app/installations', 200, { auth: bearer(jwt) });
    expect((list.json as unknown[]).length).toBe(2);
    await check('GET', '/app/installations', '/app/installations', 401, {});
    await check('GET', '/app/installations/{installation_id}', '/app/installations/1', 200, {
      auth: bearer(jwt),
    });
    await check('GET', '/app/installations/{installation_id}', '/app/installations/999', 404, {
      auth: bearer(jwt),
    });
  });

  it('POST /app/installations/{id}/access_tokens', async () => {
    const t = '/app/installations/{installation_id}/access_tokens';
    const res = await check('POST', t, '/app/installations/1/access_tokens', 201, {
      auth: bearer(jwt),
      body: { repositories: ['demo'], permissions: { issues: 'write', contents: 'read' } },
    });
    expect((res.json as { token: string }).token).toMatch(/^ghs_/);
    await check('POST', t, '/app/installations/1/access_tokens', 422, {
      auth: bearer(jwt),
      body: { repositories: ['elsewhere'] },
    });
    await check('POST', t, '/app/installations/999/access_tokens', 404, { auth: bearer(jwt) });
    await check('POST', t, '/app/installations/1/access_tokens', 401, { auth: 'Bearer not-a-jwt' });
  });

  it('GET /repos/{owner}/{repo}/installation', async () => {
    const t = '/repos/{owner}/{repo}/installation';
    await check('GET', t, '/repos/alice/demo/installation', 200, { auth: bearer(jwt) });
    await check('GET', t, '/repos/carol/nothing/installation', 404, { auth: bearer(jwt) });
  });

  it('GET /installation/repositories', async () => {
    const t = '/installation/repositories';
    const res = await check('GET', t, t, 200, { auth: tok(token) });
    expect((res.json as { total_count: number }).total_count).toBe(2);
    await check('GET', t, t, 401, { auth: tok('ghs_doesnotexist') });
  });
});

describe('repository and contents', () => {
  it('GET /repos/{owner}/{repo}', async () => {
    const t = '/repos/{owner}/{repo}';
    await check('GET', t, '/repos/alice/demo', 200, { auth: tok(token) });
    await check('GET', t, '/repos/alice/secret', 200, { auth: tok(token) });
    await check('GET', t, '/repos/alice/secret', 404, {});
    await check('GET', t, '/repos/dave/elsewhere', 404, { auth: tok(token) });
    await check('GET', t, '/repos/alice/demo', 401, { auth: tok('ghs_bad') });
    // A person's token sees that person's own permissions.
    const asBob = await check('GET', t, '/repos/alice/demo', 200, { auth: tok(bobToken) });
    expect((asBob.json as { permissions: object }).permissions).toEqual({
      admin: false,
      maintain: false,
      push: true,
      triage: true,
      pull: true,
    });
    const asCarol = await call('GET', '/repos/alice/demo', { auth: tok(carolToken) });
    expect((asCarol.json as { permissions: { push: boolean; pull: boolean } }).permissions).toMatchObject({
      push: false,
      pull: true,
    });
  });

  it('GET /repos/{owner}/{repo}/contents/{path}', async () => {
    const t = '/repos/{owner}/{repo}/contents/{path}';
    const file = await check('GET', t, '/repos/alice/demo/contents/.github/pullwright.yml', 200, {
      auth: tok(token),
    });
    const content = (file.json as { content: string }).content;
    expect(Buffer.from(content, 'base64').toString('utf8')).toBe('x: 1\n');
    const dir = await check('GET', t, '/repos/alice/demo/contents/src?ref=feature', 200, {
      auth: tok(token),
    });
    expect((dir.json as { name: string }[]).map((e) => e.name).sort()).toEqual(['a.ts', 'b.ts']);
    const raw = await call('GET', '/repos/alice/demo/contents/src/a.ts', {
      auth: tok(token),
      accept: 'application/vnd.github.raw+json',
    });
    expect(raw.status).toBe(200);
    expect(raw.text).toBe('export const a = 1;\n');
    await check('GET', t, '/repos/alice/demo/contents/missing.txt', 404, { auth: tok(token) });
    await check('GET', t, '/repos/alice/demo/contents/README.md?ref=nope', 404, { auth: tok(token) });
  });
});

describe('issues and comments', () => {
  it('issues: list, create, get, update', async () => {
    const list = '/repos/{owner}/{repo}/issues';
    await check('GET', list, '/repos/alice/demo/issues?state=all', 200, { auth: tok(token) });
    await check('GET', list, '/repos/alice/secret/issues', 404, { auth: tok(carolToken) });
    const created = await check('POST', list, '/repos/alice/demo/issues', 201, {
      auth: tok(token),
      body: { title: 'New', body: 'text', labels: ['bug'] },
    });
    const n = (created.json as { number: number }).number;
    await check('POST', list, '/repos/alice/demo/issues', 422, {
      auth: tok(token),
      body: { body: 'no title' },
    });
    const one = '/repos/{owner}/{repo}/issues/{issue_number}';
    const pr = await check('GET', one, `/repos/alice/demo/issues/${prNumber}`, 200, { auth: tok(token) });
    expect((pr.json as { pull_request?: unknown }).pull_request).toBeDefined();
    await check('GET', one, '/repos/alice/demo/issues/9999', 404, { auth: tok(token) });
    const closed = await check('PATCH', one, `/repos/alice/demo/issues/${n}`, 200, {
      auth: tok(token),
      body: { state: 'closed', state_reason: 'completed', title: 'Renamed' },
    });
    expect((closed.json as { state: string }).state).toBe('closed');
    await check('PATCH', one, `/repos/alice/demo/issues/${n}`, 422, {
      auth: tok(token),
      body: { state: 'weird' },
    });
    await check('PATCH', one, `/repos/alice/demo/issues/${n}`, 403, {
      auth: tok(carolToken),
      body: { title: 'x' },
    });
  });

  it('issue comments: list with pagination, create, get, update', async () => {
    const list = '/repos/{owner}/{repo}/issues/{issue_number}/comments';
    for (let i = 0; i < 4; i++) {
      await check('POST', list, `/repos/alice/demo/issues/${issueNumber}/comments`, 201, {
        auth: tok(token),
        body: { body: `c${i}` },
      });
    }
    const asApp = twin.inspect.comments('alice/demo', issueNumber).at(-1);
    expect(asApp?.author).toBe(twin.app.botLogin);
    const page1 = await check(
      'GET',
      list,
      `/repos/alice/demo/issues/${issueNumber}/comments?per_page=2`,
      200,
      {
        auth: tok(token),
      },
    );
    expect((page1.json as unknown[]).length).toBe(2);
    expect(page1.headers.get('link')).toMatch(/rel="next"/);
    expect(page1.headers.get('link')).toMatch(/page=3>; rel="last"/);
    const page3 = await call('GET', `/repos/alice/demo/issues/${issueNumber}/comments?per_page=2&page=3`, {
      auth: tok(token),
    });
    expect((page3.json as unknown[]).length).toBe(1);
    await check('POST', list, `/repos/alice/demo/issues/${issueNumber}/comments`, 422, {
      auth: tok(token),
      body: {},
    });
    await check('GET', list, '/repos/alice/demo/issues/9999/comments', 404, { auth: tok(token) });
    const asBob = await check('POST', list, `/repos/alice/demo/issues/${issueNumber}/comments`, 201, {
      auth: tok(bobToken),
      body: { body: 'as a person' },
    });
    expect((asBob.json as { user: { login: string; type: string } }).user).toMatchObject({
      login: 'bob',
      type: 'User',
    });
    const one = '/repos/{owner}/{repo}/issues/comments/{comment_id}';
    await check('GET', one, `/repos/alice/demo/issues/comments/${issueCommentId}`, 200, { auth: tok(token) });
    await check('GET', one, '/repos/alice/demo/issues/comments/1', 404, { auth: tok(token) });
    await check('PATCH', one, `/repos/alice/demo/issues/comments/${issueCommentId}`, 200, {
      auth: tok(token),
      body: { body: 'edited' },
    });
    await check('PATCH', one, `/repos/alice/demo/issues/comments/${issueCommentId}`, 422, {
      auth: tok(token),
      body: {},
    });
    expect(twin.inspect.comments('alice/demo', issueNumber)[0]?.editCount).toBe(1);
    const extra = twin.seed.comment({
      repo: 'alice/demo',
      number: issueNumber,
      body: 'bye',
      author: 'bob',
    }).id;
    await check('DELETE', one, `/repos/alice/demo/issues/comments/${extra}`, 204, { auth: tok(token) });
    await check('DELETE', one, `/repos/alice/demo/issues/comments/${extra}`, 404, { auth: tok(token) });
  });

  it('reactions: 201 when new, 200 when already there, 422 when invalid', async () => {
    const onIssue = '/repos/{owner}/{repo}/issues/{issue_number}/reactions';
    await check('POST', onIssue, `/repos/alice/demo/issues/${issueNumber}/reactions`, 201, {
      auth: tok(token),
      body: { content: 'eyes' },
    });
    await check('POST', onIssue, `/repos/alice/demo/issues/${issueNumber}/reactions`, 200, {
      auth: tok(token),
      body: { content: 'eyes' },
    });
    await check('POST', onIssue, `/repos/alice/demo/issues/${issueNumber}/reactions`, 422, {
      auth: tok(token),
      body: { content: 'nope' },
    });
    const onComment = '/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions';
    await check('POST', onComment, `/repos/alice/demo/issues/comments/${issueCommentId}/reactions`, 201, {
      auth: tok(token),
      body: { content: '+1' },
    });
    await check('POST', onComment, '/repos/alice/demo/issues/comments/1/reactions', 404, {
      auth: tok(token),
      body: { content: '+1' },
    });
    const onReview = '/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions';
    await check('POST', onReview, `/repos/alice/demo/pulls/comments/${reviewCommentId}/reactions`, 201, {
      auth: tok(token),
      body: { content: 'rocket' },
    });
    await check('POST', onReview, `/repos/alice/demo/pulls/comments/${reviewCommentId}/reactions`, 200, {
      auth: tok(token),
      body: { content: 'rocket' },
    });
    await check('POST', onReview, '/repos/alice/demo/pulls/comments/1/reactions', 404, {
      auth: tok(token),
      body: { content: 'rocket' },
    });
    expect(twin.inspect.reactions('alice/demo').map((r) => r.content)).toEqual(['eyes', '+1', 'rocket']);
  });

  it('collaborator permission', async () => {
    const t = '/repos/{owner}/{repo}/collaborators/{username}/permission';
    const bob = await check('GET', t, '/repos/alice/demo/collaborators/bob/permission', 200, {
      auth: tok(token),
    });
    expect(bob.json).toMatchObject({ permission: 'write', role_name: 'write' });
    const alice = await check('GET', t, '/repos/alice/demo/collaborators/alice/permission', 200, {
      auth: tok(token),
    });
    expect(alice.json).toMatchObject({ permission: 'admin' });
    const carol = await check('GET', t, '/repos/alice/secret/collaborators/carol/permission', 200, {
      auth: tok(token),
    });
    expect(carol.json).toMatchObject({ permission: 'none' });
    await check('GET', t, '/repos/alice/demo/collaborators/nobody-here/permission', 404, {
      auth: tok(token),
    });
  });

  it('labels and assignees', async () => {
    const labels = '/repos/{owner}/{repo}/issues/{issue_number}/labels';
    const res = await check('POST', labels, `/repos/alice/demo/issues/${issueNumber}/labels`, 200, {
      auth: tok(token),
      body: { labels: ['pullwright', 'bug'] },
    });
    expect((res.json as { name: string }[]).map((l) => l.name)).toEqual(['pullwright', 'bug']);
    await check('POST', labels, `/repos/alice/demo/issues/${issueNumber}/labels`, 422, {
      auth: tok(token),
      body: { labels: [] },
    });
    const one = '/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}';
    await check('DELETE', one, `/repos/alice/demo/issues/${issueNumber}/labels/bug`, 200, {
      auth: tok(token),
    });
    await check('DELETE', one, `/repos/alice/demo/issues/${issueNumber}/labels/bug`, 404, {
      auth: tok(token),
    });
    const assignees = '/repos/{owner}/{repo}/issues/{issue_number}/assignees';
    const a = await check('POST', assignees, `/repos/alice/demo/issues/${issueNumber}/assignees`, 201, {
      auth: tok(token),
      body: { assignees: ['bob'] },
    });
    expect((a.json as { assignees: { login: string }[] }).assignees.map((u) => u.login)).toEqual(['bob']);
    await check('DELETE', assignees, `/repos/alice/demo/issues/${issueNumber}/assignees`, 200, {
      auth: tok(token),
      body: { assignees: ['bob'] },
    });
    await check('DELETE', assignees, `/repos/alice/demo/issues/${issueNumber}/assignees`, 403, {
      auth: tok(carolToken),
      body: { assignees: ['bob'] },
    });
    await check('POST', assignees, '/repos/alice/demo/issues/9999/assignees', 404, {
      auth: tok(token),
      body: { assignees: ['bob'] },
    });
  });
});

describe('pull requests', () => {
  it('create, list, get, update', async () => {
    const list = '/repos/{owner}/{repo}/pulls';
    await check('POST', list, '/repos/alice/demo/pulls', 422, {
      auth: tok(token),
      body: { title: 'dup', head: 'feature', base: 'main' },
    });
    await check('POST', list, '/repos/alice/demo/pulls', 422, {
      auth: tok(token),
      body: { title: 'empty', head: 'main', base: 'main' },
    });
    await check('POST', list, '/repos/alice/demo/pulls', 422, {
      auth: tok(token),
      body: { title: 'no branch', head: 'ghost', base: 'main' },
    });
    await twin.seed.branch({ repo: 'alice/demo', branch: 'second', files: { 'c.txt': 'c\n' } });
    const created = await check('POST', list, '/repos/alice/demo/pulls', 201, {
      auth: tok(token),
      body: { title: 'Second', head: 'alice:second', base: 'main', body: 'Closes #1' },
    });
    const n = (created.json as { number: number }).number;
    const byHead = await check('GET', list, '/repos/alice/demo/pulls?head=alice:second&state=open', 200, {
      auth: tok(token),
    });
    expect((byHead.json as { number: number }[]).map((p) => p.number)).toEqual([n]);
    await check('GET', list, '/repos/dave/elsewhere/pulls', 404, { auth: tok(token) });
    const one = '/repos/{owner}/{repo}/pulls/{pull_number}';
    await check('GET', one, `/repos/alice/demo/pulls/${n}`, 200, { auth: tok(token) });
    await check('GET', one, `/repos/alice/demo/pulls/${issueNumber}`, 404, { auth: tok(token) });
    const patched = await check('PATCH', one, `/repos/alice/demo/pulls/${n}`, 200, {
      auth: tok(token),
      body: { title: 'Second v2', state: 'closed' },
    });
    expect(patched.json).toMatchObject({ title: 'Second v2', state: 'closed' });
    await check('PATCH', one, `/repos/alice/demo/pulls/${n}`, 422, {
      auth: tok(token),
      body: { base: 'ghost' },
    });
    const closedList = await call('GET', '/repos/alice/demo/pulls?state=closed', { auth: tok(token) });
    expect((closedList.json as { number: number }[]).map((p) => p.number)).toEqual([n]);
  });

  it('a pull request from a fork: head is the fork, the base repository holds its commit', async () => {
    const fork = await twin.seed.fork({ repo: 'alice/demo', owner: 'mallory' });
    expect(fork.fullName).toBe('mallory/demo');
    // The fork's branch shares its name with one of the base repository's own branches.
    await twin.seed.branch({ repo: 'mallory/demo', branch: 'feature', files: { 'evil.txt': 'x\n' } });
    const { number } = await twin.seed.pullRequest({
      repo: 'alice/demo',
      headRepo: 'mallory/demo',
      head: 'feature',
      title: 'From a fork',
      author: 'mallory',
    });
    const one = '/repos/{owner}/{repo}/pulls/{pull_number}';
    const pull = await check('GET', one, `/repos/alice/demo/pulls/${number}`, 200, { auth: tok(token) });
    const head = (
      pull.json as { head: { label: string; sha: string; repo: { full_name: string; fork: boolean } } }
    ).head;
    expect(head).toMatchObject({ label: 'mallory:feature', repo: { full_name: 'mallory/demo', fork: true } });
    expect(twin.inspect.pull('alice/demo', number)?.headRepo).toBe('mallory/demo');
    // `head=owner:branch` tells them apart.
    const list = '/repos/{owner}/{repo}/pulls';
    const mine = await check('GET', list, '/repos/alice/demo/pulls?head=alice:feature', 200, {
      auth: tok(token),
    });
    expect((mine.json as { number: number }[]).map((p) => p.number)).toEqual([prNumber]);
    const theirs = await check('GET', list, '/repos/alice/demo/pulls?head=mallory:feature', 200, {
      auth: tok(token),
    });
    expect((theirs.json as { number: number }[]).map((p) => p.number)).toEqual([number]);
    // Like GitHub, refs/pull/N/head in the base repository points at the fork's commit.
    const refs = await call('GET', '/alice/demo.git/info/refs?service=git-upload-pack', { auth: tok(token) });
    expect(refs.text).toContain(`${head.sha} refs/pull/${number}/head`);
  });

  it('reviews and review comments', async () => {
    const reviews = '/repos/{owner}/{repo}/pulls/{pull_number}/reviews';
    const r = await check('GET', reviews, `/repos/alice/demo/pulls/${prNumber}/reviews`, 200, {
      auth: tok(token),
    });
    expect((r.json as { state: string }[])[0]?.state).toBe('CHANGES_REQUESTED');
    await check('GET', reviews, '/repos/alice/demo/pulls/9999/reviews', 404, { auth: tok(token) });
    await check('POST', reviews, `/repos/alice/demo/pulls/${prNumber}/reviews`, 200, {
      auth: tok(token),
      body: { event: 'COMMENT', body: 'looks fine' },
    });
    await check('POST', reviews, `/repos/alice/demo/pulls/${prNumber}/reviews`, 422, {
      auth: tok(token),
      body: { event: 'MAYBE' },
    });
    const comments = '/repos/{owner}/{repo}/pulls/{pull_number}/comments';
    await check('GET', comments, `/repos/alice/demo/pulls/${prNumber}/comments`, 200, { auth: tok(token) });
    await check('GET', comments, `/repos/alice/demo/pulls/${prNumber}/comments`, 401, {
      auth: tok('ghs_expired'),
    });
    const created = await check('POST', comments, `/repos/alice/demo/pulls/${prNumber}/comments`, 201, {
      auth: tok(token),
      body: { body: 'also here', path: 'src/b.ts', line: 1, commit_id: 'x' },
    });
    const reply = await check('POST', comments, `/repos/alice/demo/pulls/${prNumber}/comments`, 201, {
      auth: tok(token),
      body: { body: 'reply', in_reply_to: (created.json as { id: number }).id },
    });
    expect((reply.json as { in_reply_to_id: number }).in_reply_to_id).toBe(
      (created.json as { id: number }).id,
    );
    await check('POST', comments, `/repos/alice/demo/pulls/${prNumber}/comments`, 422, {
      auth: tok(token),
      body: { body: 'no path' },
    });
    const one = '/repos/{owner}/{repo}/pulls/comments/{comment_id}';
    const got = await check('GET', one, `/repos/alice/demo/pulls/comments/${reviewCommentId}`, 200, {
      auth: tok(token),
    });
    // The hunk comes from the real diff of the PR, cut at the commented line.
    expect((got.json as { diff_hunk: string }).diff_hunk).toBe('@@ -0,0 +1 @@\n+export const b = 2;');
    await check('GET', one, '/repos/alice/demo/pulls/comments/1', 404, { auth: tok(token) });
    const replies = '/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies';
    await check(
      'POST',
      replies,
      `/repos/alice/demo/pulls/${prNumber}/comments/${reviewCommentId}/replies`,
      201,
      {
        auth: tok(token),
        body: { body: 'Done in abc123' },
      },
    );
    await check('POST', replies, `/repos/alice/demo/pulls/${prNumber}/comments/1/replies`, 404, {
      auth: tok(token),
      body: { body: 'x' },
    });
    const replyRecs = twin.inspect
      .reviewComments('alice/demo', prNumber)
      .filter((c) => c.inReplyTo === reviewCommentId);
    expect(replyRecs.map((c) => c.author)).toEqual([twin.app.botLogin]);
  });
});

describe('refs and branches', () => {
  it('get ref, get branch, delete ref', async () => {
    const ref = '/repos/{owner}/{repo}/git/ref/{ref}';
    const got = await check('GET', ref, '/repos/alice/demo/git/ref/heads/feature', 200, { auth: tok(token) });
    const branches = await twin.inspect.branches('alice/demo');
    expect((got.json as { object: { sha: string } }).object.sha).toBe(branches.feature);
    await check('GET', ref, '/repos/alice/demo/git/ref/heads/ghost', 404, { auth: tok(token) });
    const branch = '/repos/{owner}/{repo}/branches/{branch}';
    await check('GET', branch, '/repos/alice/demo/branches/main', 200, { auth: tok(token) });
    await check('GET', branch, '/repos/alice/demo/branches/ghost', 404, { auth: tok(token) });
    const del = '/repos/{owner}/{repo}/git/refs/{ref}';
    await check('DELETE', del, '/repos/alice/demo/git/refs/heads/same', 204, { auth: tok(token) });
    await check('DELETE', del, '/repos/alice/demo/git/refs/heads/same', 422, { auth: tok(token) });
    expect((await twin.inspect.branches('alice/demo')).same).toBeUndefined();
  });
});

describe('graphql reviewThreads', () => {
  const query = `query($owner: String!, $name: String!, $number: Int!) {
    repository(owner: $owner, name: $name) { pullRequest(number: $number) {
      reviewThreads(first: 100) { nodes { id isResolved isOutdated path line
        comments(first: 100) { nodes { databaseId body author { login } } } } } } } }`;

  it('answers the query and reflects resolution', async () => {
    const body = { query, variables: { owner: 'alice', name: 'demo', number: prNumber } };
    const res = await check('POST', '/graphql', '/graphql', 200, { auth: bearer(token), body });
    type Threads = {
      data: {
        repository: {
          pullRequest: {
            reviewThreads: {
              nodes: { id: string; isResolved: boolean; comments: { nodes: { body: string }[] } }[];
            };
          };
        };
      };
    };
    const nodes = (res.json as Threads).data.repository.pullRequest.reviewThreads.nodes;
    expect(nodes[0]?.comments.nodes[0]?.body).toBe('rename b');
    expect(nodes[0]?.isResolved).toBe(false);
    twin.seed.resolveThread(nodes[0]!.id);
    const again = await call('POST', '/graphql', { auth: bearer(token), body });
    expect((again.json as Threads).data.repository.pullRequest.reviewThreads.nodes[0]?.isResolved).toBe(true);
    const foreign = await call('POST', '/graphql', {
      auth: bearer(otherToken),
      body,
    });
    expect((foreign.json as { data: { repository: null } }).data.repository).toBeNull();
    await check('POST', '/graphql', '/graphql', 401, { body });
  });
});

describe('forks and installations by account', () => {
  it('forks into an organization asynchronously, finds installations by account, opens a PR from the fork', async () => {
    twin.seed.user({ login: 'forkers', type: 'Organization' });
    const forkInst = twin.seed.installation({
      account: 'forkers',
      permissions: { contents: 'write', metadata: 'read', administration: 'write', pull_requests: 'write' },
    });
    const adminToken = twin.createInstallationToken(forkInst.id, {
      permissions: { administration: 'write', contents: 'read' },
    }).token;
    const pushOnly = twin.createInstallationToken(forkInst.id, { permissions: { contents: 'write' } }).token;
    const orgInst = '/orgs/{org}/installation';
    const got = await check('GET', orgInst, '/orgs/forkers/installation', 200, { auth: bearer(jwt) });
    expect((got.json as { id: number }).id).toBe(forkInst.id);
    await check('GET', orgInst, '/orgs/alice/installation', 404, { auth: bearer(jwt) });
    await check('GET', orgInst, '/orgs/forkers/installation', 401, { auth: null });
    const userInst = '/users/{username}/installation';
    await check('GET', userInst, '/users/alice/installation', 200, { auth: bearer(jwt) });
    await check('GET', userInst, '/users/nobody/installation', 404, { auth: bearer(jwt) });

    const forks = '/repos/{owner}/{repo}/forks';
    const body = { organization: 'forkers', default_branch_only: true };
    await check('POST', forks, '/repos/alice/demo/forks', 403, { auth: tok(pushOnly), body });
    await check('POST', forks, '/repos/alice/ghost/forks', 404, { auth: tok(adminToken), body });
    await check('POST', forks, '/repos/alice/demo/forks', 401, { body });
    const made = await check('POST', forks, '/repos/alice/demo/forks', 202, { auth: tok(adminToken), body });
    const fork = made.json as { full_name: string; fork: boolean; parent: { full_name: string } };
    expect(fork).toMatchObject({
      full_name: 'forkers/demo',
      fork: true,
      parent: { full_name: 'alice/demo' },
    });
    // Asynchronous, as on GitHub: not there yet, then there; asking again returns the same fork.
    expect((await call('GET', '/repos/forkers/demo', { auth: tok(pushOnly) })).status).toBe(404);
    const again = await check('POST', forks, '/repos/alice/demo/forks', 202, { auth: tok(adminToken), body });
    expect((again.json as { full_name: string }).full_name).toBe('forkers/demo');
    while ((await call('GET', '/repos/forkers/demo', { auth: tok(pushOnly) })).status === 404) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await check('GET', '/repos/{owner}/{repo}', '/repos/forkers/demo', 200, { auth: tok(pushOnly) });
    expect(Object.keys(await twin.inspect.branches('forkers/demo'))).toEqual(['main']);

    await twin.seed.branch({
      repo: 'forkers/demo',
      branch: 'from-fork',
      files: { 'src/f.ts': 'export {};\n' },
    });
    const pulls = '/repos/{owner}/{repo}/pulls';
    const pr = await check('POST', pulls, '/repos/alice/demo/pulls', 201, {
      auth: tok(token),
      body: { title: 'From the fork', head: 'forkers:from-fork', base: 'main' },
    });
    const pull = pr.json as { head: { repo: { full_name: string }; label: string } };
    expect(pull.head.repo.full_name).toBe('forkers/demo');
    expect(pull.head.label).toBe('forkers:from-fork');
    await check('POST', pulls, '/repos/alice/demo/pulls', 422, {
      auth: tok(token),
      body: { title: 'No such fork', head: 'mallory:from-fork', base: 'main' },
    });
    const listed = await check('GET', pulls, '/repos/alice/demo/pulls?head=forkers:from-fork', 200, {
      auth: tok(token),
    });
    expect((listed.json as unknown[]).length).toBe(1);
  });
});

describe('coverage', () => {
  it('every endpoint the twin serves was checked with a success and an error status', () => {
    const served = [
      'GET /app',
      'GET /app/installations',
      'GET /app/installations/{installation_id}',
      'POST /app/installations/{installation_id}/access_tokens',
      'GET /repos/{owner}/{repo}/installation',
      'GET /orgs/{org}/installation',
      'GET /users/{username}/installation',
      'POST /repos/{owner}/{repo}/forks',
      'GET /installation/repositories',
      'GET /repos/{owner}/{repo}',
      'GET /repos/{owner}/{repo}/contents/{path}',
      'GET /repos/{owner}/{repo}/issues',
      'POST /repos/{owner}/{repo}/issues',
      'GET /repos/{owner}/{repo}/issues/{issue_number}',
      'PATCH /repos/{owner}/{repo}/issues/{issue_number}',
      'GET /repos/{owner}/{repo}/issues/{issue_number}/comments',
      'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
      'GET /repos/{owner}/{repo}/issues/comments/{comment_id}',
      'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}',
      'DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}',
      'POST /repos/{owner}/{repo}/issues/{issue_number}/reactions',
      'POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions',
      'POST /repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions',
      'GET /repos/{owner}/{repo}/collaborators/{username}/permission',
      'POST /repos/{owner}/{repo}/issues/{issue_number}/labels',
      'DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}',
      'POST /repos/{owner}/{repo}/issues/{issue_number}/assignees',
      'DELETE /repos/{owner}/{repo}/issues/{issue_number}/assignees',
      'GET /repos/{owner}/{repo}/pulls',
      'POST /repos/{owner}/{repo}/pulls',
      'GET /repos/{owner}/{repo}/pulls/{pull_number}',
      'PATCH /repos/{owner}/{repo}/pulls/{pull_number}',
      'GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews',
      'POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews',
      'GET /repos/{owner}/{repo}/pulls/{pull_number}/comments',
      'POST /repos/{owner}/{repo}/pulls/{pull_number}/comments',
      'GET /repos/{owner}/{repo}/pulls/comments/{comment_id}',
      'POST /repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies',
      'GET /repos/{owner}/{repo}/git/ref/{ref}',
      'GET /repos/{owner}/{repo}/branches/{branch}',
      'DELETE /repos/{owner}/{repo}/git/refs/{ref}',
      'POST /graphql',
    ];
    const missing = kit.missingChecks(served);
    expect(missing).toEqual([]);
  });
});
