import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubTwin } from './index.js';
import type { GitHubTwin } from './types.js';

/** The twin's GraphQL pages review threads and their comments as GitHub does. */
describe('GitHub twin GraphQL pagination', () => {
  let twin: GitHubTwin;
  let token: string;
  let otherToken: string;
  let number: number;
  let longThread: string;

  const threadsQuery = (
    first: number | null,
    comments = 100,
  ) => `query($owner: String!, $name: String!, $number: Int!, $after: String) {
    repository(owner: $owner, name: $name) { pullRequest(number: $number) {
      reviewThreads(${first === null ? '' : `first: ${first}, `}after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { id comments(first: ${comments}) { pageInfo { hasNextPage endCursor } nodes { databaseId body } } } } } } }`;
  const commentsQuery = `query($id: ID!, $after: String) { node(id: $id) {
    ... on PullRequestReviewThread { comments(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor } nodes { databaseId body } } } } }`;

  type PageOf<T> = { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: T[] };
  type Comments = PageOf<{ databaseId: number; body: string }>;
  type Answer = {
    data?: {
      repository?: { pullRequest: { reviewThreads: PageOf<{ id: string; comments: Comments }> } } | null;
      node?: { comments: Comments } | null;
    };
    errors?: { message: string; type?: string }[];
  };

  async function graphql(query: string, variables: Record<string, unknown>, auth = token): Promise<Answer> {
    const res = await fetch(`${twin.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `bearer ${auth}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Answer;
  }

  beforeAll(async () => {
    twin = await startGitHubTwin();
    twin.seed.user({ login: 'alice' });
    await twin.seed.repo({ owner: 'alice', name: 'demo', files: { 'a.txt': '1\n' } });
    await twin.seed.repo({ owner: 'dave', name: 'elsewhere' });
    const inst = twin.seed.installation({ account: 'alice' });
    const other = twin.seed.installation({ account: 'dave' });
    token = twin.createInstallationToken(inst.id).token;
    otherToken = twin.createInstallationToken(other.id).token;
    await twin.seed.branch({ repo: 'alice/demo', branch: 'f', files: { 'a.txt': '2\n' } });
    number = (await twin.seed.pullRequest({ repo: 'alice/demo', head: 'f', title: 't', author: 'alice' }))
      .number;
    longThread = twin.seed.reviewThread({
      repo: 'alice/demo',
      number,
      path: 'a.txt',
      line: 1,
      comments: Array.from({ length: 150 }, (_, i) => ({ author: 'alice', body: `c${i}` })),
    }).threadId;
    for (let i = 0; i < 4; i++) {
      twin.seed.reviewThread({
        repo: 'alice/demo',
        number,
        path: 'a.txt',
        line: 1,
        comments: [{ author: 'alice', body: `t${i}` }],
      });
    }
  });

  afterAll(async () => {
    await twin?.close();
  });

  it('pages threads with opaque cursors until hasNextPage is false', async () => {
    const vars = { owner: 'alice', name: 'demo', number };
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const answer = await graphql(threadsQuery(2), { ...vars, after });
      const page = answer.data?.repository?.pullRequest.reviewThreads;
      expect(page?.nodes.length).toBeLessThanOrEqual(2);
      seen.push(...(page?.nodes.map((n) => n.id) ?? []));
      if (!page?.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
      expect(after).not.toMatch(/^\d+$/);
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
  });

  it('pages one thread’s comments through node(id:)', async () => {
    const first = await graphql(threadsQuery(100), { owner: 'alice', name: 'demo', number, after: null });
    const thread = first.data?.repository?.pullRequest.reviewThreads.nodes.find((t) => t.id === longThread);
    expect(thread?.comments.nodes).toHaveLength(100);
    expect(thread?.comments.pageInfo.hasNextPage).toBe(true);
    const rest = await graphql(commentsQuery, { id: longThread, after: thread?.comments.pageInfo.endCursor });
    expect(rest.data?.node?.comments.nodes.map((c) => c.body)).toEqual(
      Array.from({ length: 50 }, (_, i) => `c${i + 100}`),
    );
    expect(rest.data?.node?.comments.pageInfo.hasNextPage).toBe(false);
    const hidden = await graphql(commentsQuery, { id: longThread, after: null }, otherToken);
    expect(hidden.data?.node).toBeNull();
    expect(hidden.errors?.[0]?.type).toBe('NOT_FOUND');
  });

  it('refuses pages over 100, a missing first and a cursor it did not issue, as GitHub does', async () => {
    const vars = { owner: 'alice', name: 'demo', number, after: null };
    expect((await graphql(threadsQuery(101), vars)).errors?.[0]).toMatchObject({
      type: 'EXCESSIVE_PAGINATION',
    });
    expect((await graphql(threadsQuery(10, 101), vars)).errors?.[0]).toMatchObject({
      type: 'EXCESSIVE_PAGINATION',
    });
    expect((await graphql(threadsQuery(null), vars)).errors?.[0]).toMatchObject({
      type: 'MISSING_PAGINATION_BOUNDARIES',
    });
    expect((await graphql(threadsQuery(10), { ...vars, after: 'bogus' })).errors?.[0]?.message).toMatch(
      /valid cursor/,
    );
  });
});
