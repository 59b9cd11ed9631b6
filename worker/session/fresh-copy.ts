import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RepoCache } from '../workspace/repo-cache.js';
import { createWorkingCopy } from '../workspace/working-copy.js';

/** A working copy nothing has run in yet; the session disposes it once verify is done. */
export interface FreshCopy {
  workDir: string;
  dispose(): Promise<void>;
}

/**
 * Makes `SessionWorkspace.freshCopy` for a caller that holds the repository
 * cache: each call checks `baseSha` out again from the host-only cache (never
 * from the agent's tree, whose `.git` the agent could rewrite) into a new folder
 * under `parentDir`, so verify sees only the base commit plus the extracted patch.
 */
export function createFreshCopier(options: {
  cache: RepoCache;
  baseSha: string;
  /** A host folder no sandbox mounts (the run folder beside the agent's copy). */
  parentDir: string;
}): () => Promise<FreshCopy> {
  let made = 0;
  return async () => {
    made += 1;
    const dir = join(options.parentDir, `verify-${made}`);
    try {
      const copy = await createWorkingCopy({ cache: options.cache, ref: options.baseSha, dir });
      return { workDir: copy.dir, dispose: () => rm(dir, { recursive: true, force: true }) };
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  };
}
