import type { RepoRef, Trigger } from '../../src/domain/task.js';
import { PullwrightError, toPullwrightError } from '../../src/errors.js';
import type { GitIdentity } from './git-delivery.js';

/** Where a fork-delivered branch is pushed (`delivery: fork`): Pullwright's fork and its token. */
export interface PushTarget {
  repo: RepoRef;
  token: string;
}

/** Commits a patch onto a clean checkout of `parentSha` and pushes `branch`; the flows' workspace port does it. */
export interface CommitAndPush {
  commitAndPush(input: {
    repo: RepoRef;
    token: string;
    parentSha: string;
    branch: string;
    patch: string;
    message: string;
    author: GitIdentity;
    /**
     * Replace the branch (force-with-lease) only when it still points at this sha.
     * Used to regenerate a maintenance branch that holds nothing but our own commits.
     */
    replaceSha?: string;
    /** Push there instead (a fork, `delivery: fork`); the clean checkout still comes from `repo`. */
    pushTo?: PushTarget;
  }): Promise<{ commitSha: string }>;
}

export interface PushChangeInput {
  repo: RepoRef;
  token: string;
  baseSha: string;
  branch: string;
  patch: string;
  /** Subject (and body); the requester's Co-authored-by trailer is added here. */
  message: string;
  author: GitIdentity;
  requester: Trigger;
  replaceSha?: string;
  pushTo?: { repo: RepoRef; token: string };
}

/** Credits the person who asked, with GitHub's noreply address (their id when known, so it links). */
export function coAuthorTrailer(trigger: Pick<Trigger, 'actor' | 'actorId'>): string {
  const login = trigger.actor;
  const email =
    trigger.actorId !== undefined
      ? `${trigger.actorId}+${login}@users.noreply.github.com`
      : `${login}@users.noreply.github.com`;
  return `Co-authored-by: ${login} <${email}>`;
}

/** Pushes without force; when a person pushed meanwhile, stops and says so instead of overwriting. */
export async function pushChange(git: CommitAndPush, input: PushChangeInput): Promise<string> {
  try {
    const { commitSha } = await git.commitAndPush({
      repo: input.repo,
      token: input.token,
      parentSha: input.baseSha,
      branch: input.branch,
      patch: input.patch,
      message: `${input.message}\n\n${coAuthorTrailer(input.requester)}\n`,
      author: input.author,
      replaceSha: input.replaceSha,
      pushTo: input.pushTo,
    });
    return commitSha;
  } catch (raw) {
    const err = toPullwrightError(raw);
    if (err.code === 'conflict') {
      const message = `Someone pushed to \`${input.branch}\` while this run was working. Their commits were left as they are; ask again to build on them.`;
      // Written for the person who asked: the tracking comment shows it (other error text stays in the log).
      throw new PullwrightError('conflict', message, {
        retryable: false,
        cause: err,
        details: { publicMessage: message },
      });
    }
    throw err;
  }
}
