import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs: string[] = [];

/** Removes every repository `realPatch` made (call from afterAll). */
export function removePatchRepos(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * Makes a real git patch: `setup` builds the base tree, `change` edits it; the patch is
 * `git diff --cached --binary --full-index -M <base>`, what a commit of the base would give.
 * Two shell spawns instead of five git ones: each spawn forks the whole (large) test worker,
 * which costs more here than git itself; the base is a tree object, so no commit is needed.
 */
export function realPatch(setup: (dir: string) => void, change: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'pw-patch-'));
  dirs.push(dir);
  const sh = (script: string) =>
    execFileSync('sh', ['-c', script], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
      maxBuffer: 64 * 1024 * 1024,
    });
  setup(dir);
  // An empty template: no sample hooks to copy; nothing here runs hooks.
  const base = sh('git init -q --template= && git add -A && git write-tree').trim();
  change(dir);
  return sh(`git add -A && git diff --cached --binary --full-index -M ${base}`);
}
