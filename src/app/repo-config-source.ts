import type { Redis } from 'ioredis';
import type { RepoRef } from '../domain/task.js';
import type { GitHubPort } from '../github/github-port.js';
import { keyPrefix, repoSlug } from '../queue/queue-names.js';
import { type ParsedRepoConfig, parseRepoConfig, REPO_CONFIG_PATH } from '../repo-config/repo-config.js';
import { LocalCache } from './local-cache.js';

/**
 * `.github/pullwright.yml` from the default branch, cached in Redis so each
 * delivery costs a GET rather than a GitHub call. A push that touches the file
 * on the default branch invalidates the cache.
 */
export interface LoadedRepoConfig extends ParsedRepoConfig {
  /** Blob sha of the file, null when there is none. */
  sha: string | null;
}

export interface RepoConfigSource {
  load(installationId: number, repo: RepoRef): Promise<LoadedRepoConfig>;
  invalidate(installationId: number, repo: RepoRef): Promise<void>;
}

export function createRepoConfigSource(
  github: GitHubPort,
  redis: Redis,
  prefix: string,
  ttlSeconds = 300,
  localTtlMs = 5_000,
): RepoConfigSource {
  const key = (installationId: number, repo: RepoRef) =>
    `${keyPrefix(prefix)}:repo-config:${installationId}/${repoSlug(repo)}`;
  const recent = new LocalCache<LoadedRepoConfig>(localTtlMs);
  return {
    async load(installationId, repo) {
      const k = key(installationId, repo);
      const local = recent.get(k);
      if (local) return local;
      const cached = await redis.get(k);
      let file: { text: string | null; sha: string | null; tooLarge?: boolean };
      if (cached !== null) {
        file = JSON.parse(cached) as typeof file;
      } else {
        const fetched = await github.getDefaultBranchFile(installationId, repo, REPO_CONFIG_PATH);
        file = { text: fetched?.text ?? null, sha: fetched?.sha ?? null, tooLarge: fetched?.tooLarge };
        await redis.set(k, JSON.stringify(file), 'EX', ttlSeconds);
      }
      const loaded: LoadedRepoConfig = file.tooLarge
        ? {
            ...parseRepoConfig(null),
            problems: [`${REPO_CONFIG_PATH} is larger than 256 KiB`],
            sha: file.sha,
          }
        : { ...parseRepoConfig(file.text), sha: file.sha };
      recent.set(k, loaded);
      return loaded;
    },
    async invalidate(installationId, repo) {
      recent.delete(key(installationId, repo));
      await redis.del(key(installationId, repo));
    },
  };
}
