import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs: string[] = [];

/** Removes every repository `realPatch` made (call from afterAll). */
export function removePatchRepos(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Makes a real git patch: `setup` builds the base commit, `change` edits the tree. */
export function realPatch(setup: (dir: string) => void, change: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'pw-patch-'));
  dirs.push(dir);
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
      maxBuffer: 64 * 1024 * 1024,
    });
  git('init', '-q');
  setup(dir);
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-qm', 'base', '--allow-empty');
  change(dir);
  git('add', '-A');
  return git('diff', '--cached', '--binary', '--full-index', '-M', 'HEAD');
}
