import type { Redis } from 'ioredis';
import type { RepoRef } from '../domain/task.js';
import type { GitHubPort, Permission } from '../github/github-port.js';
import { hasWriteAccess } from '../github/permission.js';
import { keyPrefix, repoSlug } from '../queue/queue-names.js';
import { LocalCache } from './local-cache.js';

/** Write, maintain or admin only: why is in `src/github/permission.ts`. */
export interface PermissionChecker {
  isAuthorized(
    installationId: number,
    repo: RepoRef,
    login: string,
  ): Promise<{ ok: boolean; permission: Permission }>;
}

/**
 * Looks the permission up on GitHub and caches it briefly in Redis, so a burst
 * of comments costs one API call. Short TTL: a revoked collaborator loses
 * access within a minute (plus the few seconds of the in-process layer).
 */
export function createPermissionChecker(
  github: GitHubPort,
  redis: Redis,
  prefix: string,
  ttlSeconds = 60,
  localTtlMs = 5_000,
): PermissionChecker {
  const recent = new LocalCache<Permission>(localTtlMs);
  const key = (installationId: number, repo: RepoRef, login: string) =>
    `${keyPrefix(prefix)}:perm:${installationId}/${repoSlug(repo)}:${login.toLowerCase()}`;
  return {
    async isAuthorized(installationId, repo, login) {
      const k = key(installationId, repo, login);
      const local = recent.get(k);
      if (local !== undefined) return { ok: hasWriteAccess(local), permission: local };
      let permission = (await redis.get(k)) as Permission | null;
      if (permission === null) {
        permission = await github.getPermission(installationId, repo, login);
        await redis.set(k, permission, 'EX', ttlSeconds);
      }
      // Only what came from Redis or GitHub is remembered: refreshing on every hit would
      // keep a revoked collaborator's access alive for as long as they keep commenting.
      recent.set(k, permission);
      return { ok: hasWriteAccess(permission), permission };
    },
  };
}
