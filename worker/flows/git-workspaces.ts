import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RepoRef } from '../../src/domain/task.js';
import {
  commitChange,
  createCleanCheckout,
  hasCommit,
  listCommits,
  pushBranch,
} from '../delivery/git-delivery.js';
import { createFreshCopier } from '../session/fresh-copy.js';
import { applyPatch, extractPatch } from '../workspace/patch.js';
import { ensureRepoCache, type RepoCache } from '../workspace/repo-cache.js';
import { createWorkingCopy } from '../workspace/working-copy.js';
import type { WorkspacePort } from './ports.js';

/**
 * Binds the flows' WorkspacePort to the git workspace helpers: a cache (one
 * bare mirror per repository, host-only) and run folders (a job's agent-writable
 * working copy, and the clean checkouts the host commits from). Run folders are
 * removed on dispose; the reaper removes those a crashed worker left.
 */
export function createGitWorkspaces(options: {
  /** Shared by every worker process on the host (fetches are locked per repository). */
  cacheDir: string;
  /** This worker's own run folders. */
  runsDir: string;
  gitBaseUrl: string;
}): WorkspacePort {
  const runsRoot = resolve(options.runsDir);
  const remoteOf = (repo: RepoRef) =>
    `${options.gitBaseUrl.replace(/\/$/, '')}/${repo.owner}/${repo.name}.git`;
  // Caches this process has fetched, so delivery does not fetch a second time.
  const fetched = new Map<string, RepoCache>();
  const cacheFor = async (repo: RepoRef, token: string, refs?: string[]) => {
    const cache = await ensureRepoCache({
      remoteUrl: remoteOf(repo),
      token,
      cacheDir: resolve(options.cacheDir),
      refs,
    });
    fetched.set(cache.remoteUrl, cache);
    return cache;
  };
  const runDir = (id: string) => join(runsRoot, id.replace(/[^A-Za-z0-9_.-]/g, '_'));

  return {
    async prepare({ repo, token, ref, jobId, refs }) {
      const cache = await cacheFor(repo, token, refs);
      const dir = runDir(`${jobId}-${randomUUID().slice(0, 8)}`);
      await mkdir(dir, { recursive: true });
      try {
        const copy = await createWorkingCopy({ cache, ref, dir: join(dir, 'work') });
        return {
          workDir: copy.dir,
          baseSha: copy.baseSha,
          async extractPatch() {
            const { patch, paths, stats } = await extractPatch({
              workDir: copy.dir,
              baseSha: copy.baseSha,
              cache,
            });
            return { patch, paths, stats };
          },
          // Verify gets a new copy of the base plus the patch, never the agent's tree (issue 14
          // item 6); it lives beside `work`, which is the only folder a sandbox mounts.
          freshCopy: createFreshCopier({ cache, baseSha: copy.baseSha, parentDir: dir }),
          dispose: () => rm(dir, { recursive: true, force: true }),
        };
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    },

    async commitAndPush({ repo, token, parentSha, branch, patch, message, author, replaceSha, pushTo }) {
      // The job's own prepare() fetched the parent already; fetch again only if the cache lost it.
      const known = fetched.get(remoteOf(repo));
      const cache = known && (await hasCommit(known, parentSha)) ? known : await cacheFor(repo, token);
      const dir = runDir(`deliver-${randomUUID()}`);
      try {
        const clean = await createCleanCheckout({ cache, ref: parentSha, dir });
        await applyPatch({ cleanDir: clean.dir, patch });
        const commitSha = await commitChange({ dir: clean.dir, message, author });
        await pushBranch({
          dir: clean.dir,
          // A fork (`delivery: fork`) gets the branch; the base repository never does.
          remoteUrl: pushTo ? remoteOf(pushTo.repo) : cache.remoteUrl,
          token: pushTo?.token ?? token,
          branch,
          expectedSha: replaceSha,
        });
        return { commitSha };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    async foreignCommits({ repo, token, branchSha, sinceSha, botEmail }) {
      const cache = await cacheFor(repo, token);
      const commits = await listCommits({ cache, sinceSha, branchSha });
      return commits
        .filter((c) => c.authorEmail.toLowerCase() !== botEmail.toLowerCase())
        .map((c) => ({ sha: c.sha, author: c.authorName }));
    },
  };
}
