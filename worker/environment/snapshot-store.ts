import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../src/logger.js';
import { ensurePrivateDir } from '../sandbox/private-dir.js';

/**
 * Environment snapshots on the worker host's disk (issue 17): what a repository's
 * setup produced, as two tar files made inside the setup container (the ignored and
 * untracked paths of the workspace, and HOME). The host never unpacks them: they are
 * streamed back into a later container and unpacked there as the agent user, so a
 * crafted archive cannot write on the host, and the agent's container gets a copy
 * it cannot write back through.
 *
 * Layout: `<dir>/<scope>/<key>/{workspace.tar,home.tar,meta.json}`. `scope` is a hash
 * of the installation and the repository, so two repositories (or two installations
 * of one) never share a snapshot; `key` a hash of the image id, the setup command
 * and the lockfiles' content. Bounded per scope and in total (least recently used
 * goes first) and by age.
 */
export interface SnapshotScope {
  installationId: number;
  /** `owner/name`; with `repoId` the id decides (a renamed repository keeps its snapshots). */
  repo: string;
  repoId?: number;
}

export interface SnapshotKey {
  imageId: string;
  setupCommand: string;
  lockfileHash: string;
  /** The repository's `setupCacheKey` globs ([] = the default lockfile list). */
  cacheKeyGlobs: string[];
}

const SnapshotMeta = z.object({
  version: z.literal(1),
  scope: z.string(),
  key: z.object({
    imageId: z.string(),
    setupCommand: z.string(),
    lockfileHash: z.string(),
    cacheKeyGlobs: z.array(z.string()),
  }),
  bytes: z.number().int().nonnegative(),
  createdAt: z.number(),
  lastUsedAt: z.number(),
});
type SnapshotMeta = z.infer<typeof SnapshotMeta>;

export interface Snapshot {
  dir: string;
  workspaceTar: string;
  homeTar: string;
  bytes: number;
  createdAt: number;
}

/** A capture in progress: the tar files are written here, then committed or discarded. */
export interface SnapshotDraft {
  dir: string;
  workspaceTar: string;
  homeTar: string;
  discard(): Promise<void>;
}

export interface SnapshotStoreOptions {
  dir: string;
  maxRepoBytes: number;
  maxTotalBytes: number;
  maxAgeMs: number;
  log: Logger;
  now?: () => number;
}

const WORKSPACE_TAR = 'workspace.tar';
const HOME_TAR = 'home.tar';
const META = 'meta.json';
const TMP = '.tmp';

const sha = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 40);

export function scopeId(scope: SnapshotScope): string {
  const repo = scope.repoId !== undefined ? `id:${scope.repoId}` : `name:${scope.repo.toLowerCase()}`;
  return sha(`installation:${scope.installationId}\0${repo}`);
}

export function keyId(key: SnapshotKey): string {
  return sha(
    JSON.stringify([key.imageId, key.setupCommand, key.lockfileHash, [...key.cacheKeyGlobs].sort()]),
  );
}

export class SnapshotStore {
  private readonly now: () => number;
  private ready: Promise<void> | undefined;

  constructor(private readonly options: SnapshotStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  get maxRepoBytes(): number {
    return this.options.maxRepoBytes;
  }

  get maxTotalBytes(): number {
    return this.options.maxTotalBytes;
  }

  /** Creates the folder 0700 (refusing a symlink, another owner, others' write) and clears stale drafts. */
  private init(): Promise<void> {
    this.ready ??= (async () => {
      await ensurePrivateDir(this.options.dir, 'snapshot folder');
      await rm(join(this.options.dir, TMP), { recursive: true, force: true });
      await mkdir(join(this.options.dir, TMP), { mode: 0o700 });
    })();
    return this.ready;
  }

  /** The snapshot for this scope and key, or null (missing, unreadable or too old). Marks it used. */
  async find(scope: SnapshotScope, key: SnapshotKey): Promise<Snapshot | null> {
    await this.init();
    const dir = join(this.options.dir, scopeId(scope), keyId(key));
    const meta = await this.readMeta(dir);
    if (!meta) return null;
    if (this.now() - meta.createdAt > this.options.maxAgeMs) {
      await this.remove(dir, 'age');
      return null;
    }
    await this.writeMeta(dir, { ...meta, lastUsedAt: this.now() }).catch(() => undefined);
    return {
      dir,
      workspaceTar: join(dir, WORKSPACE_TAR),
      homeTar: join(dir, HOME_TAR),
      bytes: meta.bytes,
      createdAt: meta.createdAt,
    };
  }

  async begin(): Promise<SnapshotDraft> {
    await this.init();
    const dir = join(this.options.dir, TMP, randomBytes(8).toString('hex'));
    await mkdir(dir, { mode: 0o700 });
    return {
      dir,
      workspaceTar: join(dir, WORKSPACE_TAR),
      homeTar: join(dir, HOME_TAR),
      discard: () => rm(dir, { recursive: true, force: true }),
    };
  }

  /**
   * Moves a finished draft into place (replacing a snapshot of the same key) and
   * evicts down to the caps. Returns null when the draft alone is over the per-scope
   * cap: it is discarded, never kept.
   */
  async commit(draft: SnapshotDraft, scope: SnapshotScope, key: SnapshotKey): Promise<Snapshot | null> {
    const bytes = (await sizeOf(draft.workspaceTar)) + (await sizeOf(draft.homeTar));
    if (bytes > this.options.maxRepoBytes || bytes > this.options.maxTotalBytes) {
      await draft.discard();
      this.options.log.warn(
        { bytes, maxBytes: this.options.maxRepoBytes },
        'Snapshot over the per-repository cap; not kept',
      );
      return null;
    }
    const sid = scopeId(scope);
    const scopeDir = join(this.options.dir, sid);
    await mkdir(scopeDir, { recursive: true, mode: 0o700 });
    const now = this.now();
    await this.writeMeta(draft.dir, {
      version: 1,
      scope: sid,
      key: { ...key, cacheKeyGlobs: [...key.cacheKeyGlobs] },
      bytes,
      createdAt: now,
      lastUsedAt: now,
    });
    const target = join(scopeDir, keyId(key));
    // Out of the way first (a rename cannot replace a non-empty folder); a restore that
    // already opened the old files keeps reading them.
    const old = join(this.options.dir, TMP, `old-${randomBytes(8).toString('hex')}`);
    await rename(target, old).catch(() => undefined);
    await rename(draft.dir, target);
    await rm(old, { recursive: true, force: true });
    await this.evict(target);
    const meta = await this.readMeta(target);
    if (!meta) return null;
    return {
      dir: target,
      workspaceTar: join(target, WORKSPACE_TAR),
      homeTar: join(target, HOME_TAR),
      bytes,
      createdAt: now,
    };
  }

  /** Removes snapshots past the age limit, then least recently used ones past the per-scope and total caps. */
  async evict(protect?: string): Promise<{ removed: number }> {
    await this.init();
    const all: { dir: string; scope: string; meta: SnapshotMeta }[] = [];
    for (const scope of await readdir(this.options.dir).catch(() => [] as string[])) {
      if (scope === TMP) continue;
      for (const key of await readdir(join(this.options.dir, scope)).catch(() => [] as string[])) {
        const dir = join(this.options.dir, scope, key);
        const meta = await this.readMeta(dir);
        if (meta) all.push({ dir, scope, meta });
        else await rm(dir, { recursive: true, force: true });
      }
    }
    let removed = 0;
    const kept: typeof all = [];
    for (const s of all) {
      if (this.now() - s.meta.createdAt > this.options.maxAgeMs) {
        await this.remove(s.dir, 'age');
        removed += 1;
      } else kept.push(s);
    }
    // Most recently used first; walk down and drop whatever no longer fits.
    // The snapshot just written counts first, so it is never the one evicted for its own room.
    kept.sort((a, b) =>
      a.dir === protect ? -1 : b.dir === protect ? 1 : b.meta.lastUsedAt - a.meta.lastUsedAt,
    );
    const perScope = new Map<string, number>();
    let total = 0;
    for (const s of kept) {
      const scopeBytes = (perScope.get(s.scope) ?? 0) + s.meta.bytes;
      if (scopeBytes > this.options.maxRepoBytes || total + s.meta.bytes > this.options.maxTotalBytes) {
        await this.remove(s.dir, scopeBytes > this.options.maxRepoBytes ? 'repo-cap' : 'total-cap');
        removed += 1;
        continue;
      }
      perScope.set(s.scope, scopeBytes);
      total += s.meta.bytes;
    }
    return { removed };
  }

  private async remove(dir: string, reason: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
    this.options.log.info({ reason }, 'Snapshot evicted');
  }

  private async readMeta(dir: string): Promise<SnapshotMeta | null> {
    try {
      const parsed = SnapshotMeta.safeParse(JSON.parse(await readFile(join(dir, META), 'utf8')));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  private async writeMeta(dir: string, meta: SnapshotMeta): Promise<void> {
    const tmp = join(dir, `${META}.${randomBytes(4).toString('hex')}`);
    await writeFile(tmp, JSON.stringify(meta), { mode: 0o600 });
    await rename(tmp, join(dir, META));
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
