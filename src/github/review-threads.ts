import type { Octokit } from '@octokit/rest';
import type { RepoRef } from '../domain/task.js';
import { PullwrightError } from '../errors.js';
import type { ReviewThreadData } from './github-for-worker.js';
import { callGitHub } from './octokit-errors.js';

/**
 * A pull request's review threads with all their comments. GraphQL is the only
 * API that says which threads are resolved or outdated; REST carries each
 * comment's diff hunk and time, so both are read and joined by comment id.
 *
 * GitHub returns at most 100 nodes per connection, so threads are paged with
 * `after`, and a thread whose comments do not fit in its first page is paged
 * further through `node(id:)`. Dropping the rest silently would hand the agent
 * a review with requests missing.
 */

const PAGE = 100;

interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

interface CommentNode {
  databaseId: number;
  body: string;
  author: { login: string } | null;
}

interface CommentConnection {
  pageInfo: PageInfo;
  nodes: CommentNode[];
}

interface ThreadNode {
  id: string;
  isResolved: boolean;
  isOutdated: boolean;
  path: string;
  line: number | null;
  comments: CommentConnection;
}

const COMMENT_FIELDS = 'pageInfo { hasNextPage endCursor } nodes { databaseId body author { login } }';

export const REVIEW_THREADS_QUERY = `query($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: ${PAGE}, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { id isResolved isOutdated path line comments(first: ${PAGE}) { ${COMMENT_FIELDS} } }
      }
    }
  }
}`;

export const THREAD_COMMENTS_QUERY = `query($id: ID!, $after: String) {
  node(id: $id) {
    ... on PullRequestReviewThread { comments(first: ${PAGE}, after: $after) { ${COMMENT_FIELDS} } }
  }
}`;

interface ReviewThreadsResponse {
  repository: {
    pullRequest: { reviewThreads: { pageInfo: PageInfo; nodes: ThreadNode[] } } | null;
  } | null;
}

interface ThreadCommentsResponse {
  node: { comments: CommentConnection } | null;
}

/** Follows `pageInfo` until the last page; a repeated cursor ends it rather than looping forever. */
async function collectPages<T>(
  fetchPage: (after: string | null) => Promise<{ pageInfo: PageInfo; nodes: T[] } | null>,
  first?: { pageInfo: PageInfo; nodes: T[] },
): Promise<T[]> {
  const all: T[] = [];
  let page = first ?? (await fetchPage(null));
  const seen = new Set<string>();
  while (page) {
    all.push(...page.nodes);
    const cursor = page.pageInfo.endCursor;
    if (!page.pageInfo.hasNextPage || cursor === null || seen.has(cursor)) break;
    seen.add(cursor);
    page = await fetchPage(cursor);
  }
  return all;
}

async function listThreadNodes(octokit: Octokit, repo: RepoRef, number: number): Promise<ThreadNode[]> {
  const threads = await collectPages(async (after) => {
    const data = await callGitHub('Listing review threads', () =>
      octokit.graphql<ReviewThreadsResponse>(REVIEW_THREADS_QUERY, {
        owner: repo.owner,
        name: repo.name,
        number,
        after,
      }),
    );
    return data.repository?.pullRequest?.reviewThreads ?? null;
  });
  for (const thread of threads) {
    if (!thread.comments.pageInfo.hasNextPage) continue;
    const nodes = await collectPages(async (after) => {
      const data = await callGitHub('Listing review thread comments', () =>
        octokit.graphql<ThreadCommentsResponse>(THREAD_COMMENTS_QUERY, { id: thread.id, after }),
      );
      return data.node?.comments ?? null;
    }, thread.comments);
    thread.comments = { pageInfo: { hasNextPage: false, endCursor: null }, nodes };
  }
  return threads;
}

export async function listReviewThreads(
  octokit: Octokit,
  repo: RepoRef,
  number: number,
): Promise<ReviewThreadData[]> {
  const [threads, restComments] = await Promise.all([
    listThreadNodes(octokit, repo, number),
    callGitHub('Listing review comments', () =>
      octokit.paginate(octokit.rest.pulls.listReviewComments, {
        owner: repo.owner,
        repo: repo.name,
        pull_number: number,
        per_page: PAGE,
      }),
    ),
  ]);
  const byId = new Map(restComments.map((c) => [c.id, c]));
  return threads.map(
    (t): ReviewThreadData => ({
      id: t.id,
      isResolved: t.isResolved,
      isOutdated: t.isOutdated,
      path: t.path,
      line: t.line,
      diffHunk: byId.get(t.comments.nodes[0]?.databaseId ?? -1)?.diff_hunk ?? '',
      comments: t.comments.nodes.map((c) => ({
        databaseId: c.databaseId,
        author: c.author?.login ?? 'ghost',
        body: c.body,
        createdAt: byId.get(c.databaseId)?.created_at ?? '',
      })),
    }),
  );
}

const RESOLVE = `mutation($threadId: ID!) {
  resolveReviewThread(input: { threadId: $threadId }) { thread { id isResolved } }
}`;

/** Resolves a review thread (GraphQL only: REST has no notion of resolution). */
export async function resolveReviewThread(octokit: Octokit, threadId: string): Promise<void> {
  const data = await callGitHub('Resolving a review thread', () =>
    octokit.graphql<{ resolveReviewThread: { thread: { id: string; isResolved: boolean } | null } | null }>(
      RESOLVE,
      { threadId },
    ),
  );
  if (!data.resolveReviewThread?.thread?.isResolved) {
    throw new PullwrightError('upstream_unavailable', 'GitHub did not resolve the review thread', {
      details: { threadId },
    });
  }
}
