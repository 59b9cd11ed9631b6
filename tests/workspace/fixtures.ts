import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { safeGitEnv } from '../../worker/workspace/git.js';
import { NO_AUTO_MAINTENANCE } from '../twins/github/isolated-git-env.js';

/** Plain git for building fixtures (a person's repository), never for code under test. */
export function git(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], {
    cwd,
    input,
    env: safeGitEnv({
      ...NO_AUTO_MAINTENANCE,
      GIT_AUTHOR_NAME: 'Alice',
      GIT_AUTHOR_EMAIL: 'alice@example.com',
      GIT_COMMITTER_NAME: 'Alice',
      GIT_COMMITTER_EMAIL: 'alice@example.com',
    }),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  }).trim();
}

export async function makeTmp(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A bare "remote" repository `<root>/<owner>/<name>.git` with a few commits:
 * text files, a binary file, an executable script, a file to rename and one to delete,
 * and a `feature` branch.
 */
export function makeOriginRepo(root: string, owner: string, name: string): { bare: string; scratch: string } {
  const bare = join(root, owner, `${name}.git`);
  const scratch = join(root, `${owner}-${name}-scratch`);
  execFileSync('mkdir', ['-p', bare, scratch]);
  git(bare, ['init', '--quiet', '--bare']);
  git(bare, ['config', 'http.receivepack', 'true']);
  git(scratch, ['init', '--quiet']);
  execFileSync('bash', [
    '-c',
    [
      `cd ${scratch}`,
      'printf "hello\\nworld\\n" > README.md',
      'mkdir -p src && printf "export const a = 1;\\n" > src/a.ts',
      'printf "line\\n%.0s" $(seq 1 50) > src/rename-me.txt',
      'printf "bye\\n" > delete-me.txt',
      'printf "#!/bin/sh\\necho hi\\n" > run.sh',
      'head -c 2048 /dev/urandom > blob.bin',
    ].join(' && '),
  ]);
  git(scratch, ['add', '-A']);
  git(scratch, ['commit', '--quiet', '-m', 'initial']);
  execFileSync('bash', ['-c', `cd ${scratch} && printf "more\\n" >> README.md`]);
  git(scratch, ['commit', '--quiet', '-am', 'second']);
  git(scratch, ['branch', 'feature']);
  git(scratch, ['push', '--quiet', bare, 'main', 'feature']);
  git(bare, ['symbolic-ref', 'HEAD', 'refs/heads/main']);
  return { bare, scratch };
}
