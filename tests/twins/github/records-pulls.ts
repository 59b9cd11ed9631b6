import { countAhead, fetchRefs, listBranches, setRef } from './git.js';
import { notFound, nowIso, validation } from './http.js';
import { newIssue } from './records-issues.js';
import { nodeId } from './serialize.js';
import type { IssueRec, RepoRec, ReviewCommentRec, ReviewRec } from './state.js';
import type { TwinCore } from './twin-core.js';

/** Pull requests, reviews and review comments (threads), as REST routes, seeds and actions change them. */

export type ReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED';

const customError = (message: string) => validation([{ resource: 'PullRequest', code: 'custom', message }]);
const alreadyExists = (holder: RepoRec, head: string) =>
  customError(`A pull request already exists for ${holder.owner}:${head}.`);

export async function newPull(
  core: TwinCore,
  repo: RepoRec,
  input: {
    head: string;
    headRepo?: string;
    base?: string;
    title: string;
    body?: string | null;
    author: string;
    draft?: boolean;
  },
): Promise<IssueRec> {
  const base = input.base ?? repo.defaultBranch;
  const headRepo = input.headRepo ? core.mustRepo(input.headRepo) : repo;
  if (headRepo !== repo && headRepo.forkOf !== repo.id) {
    throw validation([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
  }
  const headSha = (await listBranches(headRepo.gitDir))[input.head];
  const baseSha = (await listBranches(repo.gitDir))[base];
  if (!headSha) throw validation([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
  if (!baseSha) throw validation([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
  const headRepoId = headRepo === repo ? null : headRepo.id;
  for (const i of core.state.issuesOf(repo).values()) {
    if (
      i.pull &&
      i.state === 'open' &&
      i.pull.head === input.head &&
      i.pull.headRepoId === headRepoId &&
      i.pull.base === base
    ) {
      throw alreadyExists(headRepo, input.head);
    }
  }
  // Like GitHub, the base repository gets the fork's commits (under refs/pull/N/head once
  // the number is known), so it can compare them and anyone can fetch them from it.
  const forkRef = `refs/twin-forks/${headRepo.id}/${input.head}`;
  if (headRepoId !== null) await fetchRefs(repo.gitDir, headRepo.gitDir, [`+${headSha}:${forkRef}`]);
  if ((await countAhead(repo.gitDir, baseSha, headSha)) === 0) {
    throw customError(`No commits between ${base} and ${input.head}`);
  }
  const issue = newIssue(core, repo, { title: input.title, body: input.body ?? null, author: input.author });
  issue.pull = {
    id: core.state.id(),
    headRepoId,
    head: input.head,
    base,
    headSha,
    baseSha,
    draft: input.draft ?? false,
    mergedAt: null,
  };
  if (headRepoId !== null) {
    await setRef(repo.gitDir, `refs/pull/${issue.number}/head`, headSha);
    await setRef(repo.gitDir, forkRef, null);
  }
  return issue;
}

/** Reopening a pull request whose head already has an open one is refused, as on GitHub. */
export function assertNoOtherOpenPull(core: TwinCore, repo: RepoRec, issue: IssueRec): void {
  for (const other of core.state.issuesOf(repo).values()) {
    if (
      other !== issue &&
      other.pull &&
      other.state === 'open' &&
      other.pull.head === issue.pull!.head &&
      other.pull.headRepoId === issue.pull!.headRepoId
    ) {
      throw alreadyExists(repo, issue.pull!.head);
    }
  }
}

export function newReview(
  core: TwinCore,
  repo: RepoRec,
  issue: IssueRec,
  author: string,
  reviewState: ReviewState,
  body: string,
): ReviewRec {
  core.ensureUser(author);
  const r: ReviewRec = {
    id: core.state.id(),
    repoId: repo.id,
    number: issue.number,
    author,
    state: reviewState,
    body,
    commitId: issue.pull!.headSha,
    submittedAt: nowIso(),
  };
  core.state.reviews.push(r);
  return r;
}

/** A new thread (with `path`), or a reply (with `inReplyTo`) that joins the thread of that comment. */
export function newReviewComment(
  core: TwinCore,
  repo: RepoRec,
  issue: IssueRec,
  input: {
    author: string;
    body: string;
    path?: string;
    line?: number;
    inReplyTo?: number;
    reviewId?: number;
  },
): ReviewCommentRec {
  const state = core.state;
  core.ensureUser(input.author);
  const at = nowIso();
  let threadId: string;
  let path = input.path ?? '';
  let line = input.line ?? 1;
  let inReplyTo: number | null = null;
  if (input.inReplyTo !== undefined) {
    const parent = state.reviewComments.get(input.inReplyTo);
    if (!parent || parent.repoId !== repo.id || parent.number !== issue.number) throw notFound();
    // Replies attach to the thread's first comment, as GitHub does.
    const thread = state.threads.get(parent.threadId)!;
    inReplyTo = thread.commentIds[0] ?? parent.id;
    threadId = parent.threadId;
    path = parent.path;
    line = parent.line;
  } else {
    if (!input.path) {
      throw validation([{ resource: 'PullRequestReviewComment', field: 'path', code: 'missing_field' }]);
    }
    threadId = nodeId('PullRequestReviewThread', state.id());
    state.threads.set(threadId, {
      id: threadId,
      repoId: repo.id,
      number: issue.number,
      path,
      line,
      resolved: false,
      commentIds: [],
    });
  }
  // A comment outside a review gets a single-comment COMMENTED review, as on GitHub.
  const reviewId = input.reviewId ?? newReview(core, repo, issue, input.author, 'COMMENTED', '').id;
  const c: ReviewCommentRec = {
    id: state.id(),
    repoId: repo.id,
    number: issue.number,
    reviewId,
    threadId,
    inReplyTo,
    path,
    line,
    body: input.body,
    author: input.author,
    commitId: issue.pull!.headSha,
    createdAt: at,
    updatedAt: at,
  };
  state.reviewComments.set(c.id, c);
  state.threads.get(threadId)!.commentIds.push(c.id);
  return c;
}
