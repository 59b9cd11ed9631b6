import type { Redis } from 'ioredis';
import type { RepoRef } from '../domain/task.js';
import { keyPrefix, repoSlug } from './queue-names.js';

/**
 * What the app remembers about each version of a repository's
 * `.github/pullwright.yml`: whether its problems were already commented
 * (one comment per version of a broken file, not one per delivery), and which
 * version its maintenance schedules were last synced from (a push that did not
 * change the file touches nothing).
 */
const PROBLEM_COMMENT_TTL_SECONDS = 30 * 24 * 60 * 60;
const SYNCED_TTL_SECONDS = 90 * 24 * 60 * 60;

export interface RepoConfigMarks {
  /** True for the first claim of this file version's problem comment. */
  claimProblemComment(installationId: number, repo: RepoRef, sha: string): Promise<boolean>;
  /** Gives the claim back (the comment could not be posted), so a later delivery tries again. */
  releaseProblemComment(installationId: number, repo: RepoRef, sha: string): Promise<void>;
  /** The blob sha (or 'none') the repository's schedules were last synced from. */
  getSyncedSha(installationId: number, repo: RepoRef): Promise<string | null>;
  recordSyncedSha(installationId: number, repo: RepoRef, sha: string): Promise<void>;
}

export function createRepoConfigMarks(redis: Redis, prefix: string): RepoConfigMarks {
  const kp = keyPrefix(prefix);
  const commentKey = (installationId: number, repo: RepoRef, sha: string) =>
    `${kp}:config-comment:${installationId}/${repoSlug(repo)}:${sha}`;
  const syncedKey = (installationId: number, repo: RepoRef) =>
    `${kp}:config-synced:${installationId}/${repoSlug(repo)}`;
  return {
    async claimProblemComment(installationId, repo, sha) {
      const key = commentKey(installationId, repo, sha);
      return (await redis.set(key, '1', 'EX', PROBLEM_COMMENT_TTL_SECONDS, 'NX')) !== null;
    },
    async releaseProblemComment(installationId, repo, sha) {
      await redis.del(commentKey(installationId, repo, sha));
    },
    getSyncedSha: (installationId, repo) => redis.get(syncedKey(installationId, repo)),
    async recordSyncedSha(installationId, repo, sha) {
      await redis.set(syncedKey(installationId, repo), sha, 'EX', SYNCED_TTL_SECONDS);
    },
  };
}
