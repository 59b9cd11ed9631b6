import type { RepoGitHub } from '../../src/github/github-for-worker.js';

/**
 * Closing the loop on review threads (issue 15 item 3). After an address-review run pushed
 * a commit, each thread gets one reply in its own thread; a thread is resolved only when
 * its change was made (its file is in the commit), verification passed, the agent did not
 * decline it, and the repository allows it (`review.resolveThreads`). A thread the agent
 * disagreed with or could not verify stays open with its explanation, for a person to decide.
 */

export interface ThreadAnswer {
  /** GraphQL node id of the thread (what `resolveReviewThread` takes). */
  threadId: string;
  /** Database id of the thread's first comment (replies attach to it). */
  commentId: number;
  /** Already neutralized reply text. */
  body: string;
  resolve: boolean;
}

export interface ThreadDecision {
  changed: boolean;
  verified: boolean;
  declined: boolean;
  allowed: boolean;
}

export function shouldResolve(d: ThreadDecision): boolean {
  return d.allowed && d.changed && d.verified && !d.declined;
}

/** Replies in each thread, in order, then resolves those marked; returns the ids resolved. */
export async function answerThreads(
  github: Pick<RepoGitHub, 'replyToReviewComment' | 'resolveReviewThread'>,
  pullNumber: number,
  answers: ThreadAnswer[],
): Promise<string[]> {
  const resolved: string[] = [];
  for (const a of answers) {
    await github.replyToReviewComment(pullNumber, a.commentId, a.body);
    if (a.resolve) {
      await github.resolveReviewThread(a.threadId);
      resolved.push(a.threadId);
    }
  }
  return resolved;
}
