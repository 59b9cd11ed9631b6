import type { Redis } from 'ioredis';
import { keyPrefix, type Target } from './queue-names.js';

/**
 * The session memory of each issue or pull request (worker/agent/memory), kept on the
 * host in Redis: never in the repository and never in the sandbox, which sees it only
 * through the agent's memory tool. A later run on the same issue/PR starts with it.
 *
 * Keyed by installation, repository ID and number. The threat: one repository's notes
 * (private code, decisions) shown to a run on another. The numeric repository ID, not
 * the name, is the key: a repository deleted and re-created under the same name, or a
 * rename, never inherits another's memory. A target without an ID has no memory.
 *
 * The value is opaque here (JSON within a byte cap); the worker validates it with the
 * memory's zod schema before it reaches a prompt, and treats it as untrusted text.
 */
export const DEFAULT_MEMORY_MAX_BYTES = 16 * 1024;
const DAY_SECONDS = 24 * 60 * 60;

export interface SessionMemoryStoreOptions {
  /** MEMORY_RETENTION_DAYS: kept this long after the last save. */
  retentionDays: number;
  /** Refuse larger values (default 16 KiB, the memory's own cap). */
  maxBytes?: number;
}

export type SaveMemoryResult =
  | { saved: true; bytes: number }
  | { saved: false; reason: 'no-repo-id' | 'too-large' };

export interface SessionMemoryStore {
  /** The stored value (parsed JSON), or null: none, expired, unreadable, or a target without a repository ID. */
  load(target: Target): Promise<unknown>;
  save(target: Target, memory: unknown): Promise<SaveMemoryResult>;
  forget(target: Target): Promise<void>;
}

export function sessionMemoryKey(prefix: string, target: Target): string | null {
  const id = target.repo.id;
  if (id === undefined) return null;
  return `${keyPrefix(prefix)}:memory:${target.installationId}:${id}:${target.number}`;
}

export function createSessionMemoryStore(
  redis: Redis,
  prefix: string,
  options: SessionMemoryStoreOptions,
): SessionMemoryStore {
  const maxBytes = options.maxBytes ?? DEFAULT_MEMORY_MAX_BYTES;
  const ttl = Math.max(1, Math.round(options.retentionDays * DAY_SECONDS));
  return {
    async load(target) {
      const key = sessionMemoryKey(prefix, target);
      if (key === null) return null;
      const raw = await redis.get(key);
      if (raw === null || Buffer.byteLength(raw) > maxBytes) return null;
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        return null; // not ours to repair: no memory is the safe reading
      }
    },
    async save(target, memory) {
      const key = sessionMemoryKey(prefix, target);
      if (key === null) return { saved: false, reason: 'no-repo-id' };
      const value = JSON.stringify(memory);
      const bytes = Buffer.byteLength(value);
      if (bytes > maxBytes) return { saved: false, reason: 'too-large' };
      await redis.set(key, value, 'EX', ttl);
      return { saved: true, bytes };
    },
    async forget(target) {
      const key = sessionMemoryKey(prefix, target);
      if (key !== null) await redis.del(key);
    },
  };
}
