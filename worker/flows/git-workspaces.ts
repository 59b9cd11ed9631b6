import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { RepoRef } from '../../src/domain/task.js';
import { PullwrightError } from '../../src/errors.js';
import {
  commitChange,
  createCleanCheckout,
  hasCommit,
  listCommits,
  pushBranch,
} from '../delivery/git-delivery.js';
import type { PushTarget } from '../delivery/push-change.js';
import { createFreshCopier } from '../session/fresh-copy.js';
import { runGit } from '../workspace/git.js';
import { commitResolution, mergeBaseIntoHead, rebaseOntoBase } from '../workspace/merge-branch.js';
import { applyPatch, extractPatch } from '../workspace/patch.js';
import { ensureRepoCache, type RepoCache, resolveRef } from '../workspace/repo-cache.js';
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
}): WorkspacePort & Required<Pick<WorkspacePort, 'newRunFolder'>> {
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
  // Empty `work` folders made by newRunFolder and not yet taken by a prepare.
  const pooledFolders = new Set<string>();
  // The job's own prepare() fetched the commit already; fetch again only if the cache lost it.
  const cacheHolding = async (repo: RepoRef, token: string, sha: string) => {
    const known = fetched.get(remoteOf(repo));
    return known && (await hasCommit(known, sha)) ? known : await cacheFor(repo, token);
  };
  // A fork-delivered PR's branch lives in Pullwright's fork: pushes go there, never to the repository.
  const pushTarget = (cache: RepoCache, token: string, pushTo: PushTarget | undefined) => ({
    remoteUrl: pushTo ? remoteOf(pushTo.repo) : cache.remoteUrl,
    token: pushTo?.token ?? token,
  });

  return {
    async newRunFolder() {
      const dir = runDir(`pool-${randomUUID()}`);
      const work = join(dir, 'work');
      await mkdir(work, { recursive: true });
      pooledFolders.add(work);
      return {
        workDir: work,
        dispose: async () => {
          pooledFolders.delete(work);
          await rm(dir, { recursive: true, force: true });
        },
      };
    },

    async prepare({ repo, token, ref, jobId, refs, onWorkDir, workDir }) {
      // Only a folder this port made for the pool (never a path from elsewhere), taken once.
      if (workDir !== undefined && !pooledFolders.delete(workDir))
        throw new PullwrightError('input_invalid', 'Not a run folder made by newRunFolder.', {
          retryable: false,
        });
      const work = workDir ?? join(runDir(`${jobId}-${randomUUID().slice(0, 8)}`), 'work');
      const dir = dirname(work);
      if (workDir === undefined) {
        // The empty `work` folder first: a container can be started on it while we fetch and check out.
        await mkdir(work, { recursive: true });
      }
      try {
        if (workDir === undefined) onWorkDir?.(work);
        const cache = await cacheFor(repo, token, refs);
        const copy = await createWorkingCopy({ cache, ref, dir: work });
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
      const cache = await cacheHolding(repo, token, parentSha);
      const dir = runDir(`deliver-${randomUUID()}`);
      try {
        const clean = await createCleanCheckout({ cache, ref: parentSha, dir });
        await applyPatch({ cleanDir: clean.dir, patch });
        const commitSha = await commitChange({ dir: clean.dir, message, author });
        await pushBranch({
          dir: clean.dir,
          ...pushTarget(cache, token, pushTo),
          branch,
          expectedSha: replaceSha,
        });
        return { commitSha };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    async updateBranch({
      repo,
      token,
      branch,
      headSha,
      baseRef,
      strategy,
      author,
      jobId,
      refs,
      pushTo,
      verifyFirst,
    }) {
      const cache = await cacheFor(repo, token, refs);
      const target = pushTarget(cache, token, pushTo);
      const baseSha = await resolveRef(cache, baseRef);
      const dir = runDir(`update-${randomUUID()}`);
      // Kept in the cache (outside refs/heads and refs/tags, so a fetch's prune leaves it) for the
      // job's working copies (the agent's, verify's fresh copy); the clean checkout's objects go with it.
      const keep = async (sha: string) => {
        const ref = `refs/pullwright/merges/${jobId.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
        await runGit(['-C', dir, 'push', '--quiet', '--no-verify', '--force', cache.dir, `${sha}:${ref}`]);
      };
      try {
        const clean = await createCleanCheckout({ cache, ref: headSha, dir });
        if (strategy === 'rebase') {
          const rebased = await rebaseOntoBase({ dir: clean.dir, headSha, baseSha, committer: author });
          if (rebased === headSha) return { kind: 'up-to-date', baseSha };
          if (rebased && verifyFirst) {
            await keep(rebased);
            return { kind: 'merged', sha: rebased, baseSha, rebased: true };
          }
          if (rebased) {
            // The lease: replaced only if the branch still points where this run read it.
            await pushBranch({ dir: clean.dir, ...target, branch, expectedSha: headSha });
            return { kind: 'pushed', sha: rebased, baseSha, rebased: true };
          }
          await runGit(['-C', clean.dir, 'checkout', '--quiet', '--detach', headSha]);
        }
        const merged = await mergeBaseIntoHead({ dir: clean.dir, headSha, baseSha, baseRef, author });
        if (merged.kind === 'up-to-date') return { kind: 'up-to-date', baseSha };
        if (merged.kind === 'clean' && verifyFirst) {
          await keep(merged.sha);
          return { kind: 'merged', sha: merged.sha, baseSha, rebased: false };
        }
        if (merged.kind === 'clean') {
          await pushBranch({ dir: clean.dir, ...target, branch });
          return { kind: 'pushed', sha: merged.sha, baseSha, rebased: false };
        }
        await keep(merged.sha);
        return { kind: 'conflicts', mergeSha: merged.sha, baseSha, conflicts: merged.conflicts };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    async pushUpdate({ repo, token, branch, sha, expectedSha, pushTo }) {
      const cache = await cacheHolding(repo, token, sha);
      const dir = runDir(`push-update-${randomUUID()}`);
      try {
        const clean = await createCleanCheckout({ cache, ref: sha, dir });
        await pushBranch({
          dir: clean.dir,
          ...pushTarget(cache, token, pushTo),
          branch,
          sha,
          expectedSha,
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    async pushResolution({
      repo,
      token,
      branch,
      mergeSha,
      parents,
      conflictPaths,
      patch,
      message,
      author,
      pushTo,
    }) {
      const cache = await cacheHolding(repo, token, mergeSha);
      const dir = runDir(`resolve-${randomUUID()}`);
      try {
        const clean = await createCleanCheckout({ cache, ref: mergeSha, dir });
        if (patch.trim() !== '') await applyPatch({ cleanDir: clean.dir, patch });
        const commitSha = await commitResolution({ dir: clean.dir, parents, conflictPaths, message, author });
        // A fast-forward of the head (its first parent): a person's push meanwhile makes this a conflict.
        await pushBranch({ dir: clean.dir, ...pushTarget(cache, token, pushTo), branch, sha: commitSha });
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
