import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { globToRegExp } from '../../src/domain/path-glob.js';

/**
 * The files that decide what a setup command installs, when the repository names
 * none (`setupCacheKey: []`): the common lockfiles, at any depth (monorepos keep
 * one per package).
 */
export const DEFAULT_LOCKFILE_GLOBS: readonly string[] = [
  '**/package-lock.json',
  '**/npm-shrinkwrap.json',
  '**/pnpm-lock.yaml',
  '**/yarn.lock',
  '**/bun.lockb',
  '**/bun.lock',
  '**/poetry.lock',
  '**/uv.lock',
  '**/Pipfile.lock',
  '**/pdm.lock',
  '**/requirements*.txt',
  '**/Cargo.lock',
  '**/go.sum',
  '**/Gemfile.lock',
  '**/composer.lock',
  '**/mix.lock',
  '**/pubspec.lock',
  '**/Podfile.lock',
  '**/gradle.lockfile',
  '**/packages.lock.json',
  '**/flake.lock',
];

/** Folders never walked: git's own, and what installers create (never inputs). */
const SKIP_DIRS = new Set(['.git', 'node_modules', '.venv', 'venv', 'target', '.tox', '__pycache__']);
/** A bound on the walk, so a pathological tree cannot stall the start of a run. */
const MAX_ENTRIES = 200_000;

export interface LockfileHash {
  /** sha256 over each matching file's path and content, in path order. */
  hash: string;
  /** The files that went into it (repository-relative). */
  files: string[];
}

/**
 * Hashes the files matching `globs` in a working copy no container has touched yet
 * (the host prepared it from its cache). Symbolic links are hashed as their target
 * text, never followed: a committed link to a host file must not make the worker
 * read it.
 */
export async function hashLockfiles(workDir: string, globs: readonly string[]): Promise<LockfileHash> {
  const patterns = (globs.length > 0 ? globs : DEFAULT_LOCKFILE_GLOBS).map((g) => globToRegExp(g));
  const files: string[] = [];
  let seen = 0;
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(workDir, rel), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (++seen > MAX_ENTRIES) return;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) await walk(path);
      } else if (patterns.some((p) => p.test(path))) {
        files.push(path);
      }
    }
  };
  await walk('');
  files.sort();
  const hash = createHash('sha256');
  for (const file of files) {
    const full = join(workDir, file);
    const info = await lstat(full);
    const content = info.isSymbolicLink()
      ? Buffer.from(`symlink:${await readlink(full)}`)
      : info.isFile()
        ? await readFile(full)
        : Buffer.alloc(0);
    hash.update(`${file}\0${content.length}\0`);
    hash.update(content);
  }
  return { hash: hash.digest('hex'), files };
}
