import type { RepoGitHub } from '../../src/github/github-for-worker.js';

export interface ThreadReplyToPost {
  /** The database id of the thread's first comment (replies attach to it). */
  commentId: number;
  /** Already neutralized: model text that read untrusted input never reaches GitHub raw. */
  body: string;
}

/** Answers review threads one by one, in order, so each reply lands in its own thread. */
export async function replyToThreads(
  github: Pick<RepoGitHub, 'replyToReviewComment'>,
  pullNumber: number,
  replies: ThreadReplyToPost[],
): Promise<void> {
  for (const reply of replies) await github.replyToReviewComment(pullNumber, reply.commentId, reply.body);
}
