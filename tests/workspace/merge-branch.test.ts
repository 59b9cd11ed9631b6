import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitResolution, mergeBaseIntoHead, rebaseOntoBase } from '../../worker/workspace/merge-branch.js';
import { git, makeTmp } from './fixtures.js';

const BOT = { name: 'pullwright[bot]', email: 'pullwright[bot]@users.noreply.github.com' };

describe('merging the base into a branch on the host', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: string;
  let branchSha: string;
  let mainSha: string;

  function commit(files: Record<string, string>, message: string): string {
    for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
    git(dir, ['add', '-A']);
    git(dir, ['commit', '--quiet', '-m', message]);
    return git(dir, ['rev-parse', 'HEAD']);
  }

  beforeEach(async () => {
    ({ dir, cleanup } = await makeTmp('pw-merge-'));
    git(dir, ['init', '--quiet']);
    root = commit({ 'a.txt': 'one\ntwo\nthree\n', 'b.txt': 'b\n' }, 'root');
    git(dir, ['checkout', '--quiet', '-b', 'feature']);
    branchSha = commit({ 'a.txt': 'one\nTWO (branch)\nthree\n' }, 'branch change');
    git(dir, ['checkout', '--quiet', 'main']);
    mainSha = commit({ 'a.txt': 'one\ntwo (main)\nthree\n', 'c.txt': 'c\n' }, 'main change');
    git(dir, ['checkout', '--quiet', '--detach', branchSha]);
  });
  afterEach(() => cleanup());

  it('reports an up-to-date branch without committing', async () => {
    const r = await mergeBaseIntoHead({
      dir,
      headSha: branchSha,
      baseSha: root,
      baseRef: 'main',
      author: BOT,
    });
    expect(r).toEqual({ kind: 'up-to-date' });
  });

  it('lists each conflicting file with both sides and the ancestor, then commits only a clean resolution', async () => {
    const r = await mergeBaseIntoHead({
      dir,
      headSha: branchSha,
      baseSha: mainSha,
      baseRef: 'main',
      author: BOT,
    });
    expect(r.kind).toBe('conflicts');
    if (r.kind !== 'conflicts') return;
    expect(r.conflicts).toEqual([
      {
        path: 'a.txt',
        ours: 'one\nTWO (branch)\nthree\n',
        theirs: 'one\ntwo (main)\nthree\n',
        base: 'one\ntwo\nthree\n',
      },
    ]);
    // The marker commit keeps head and base as parents and holds diff3 markers.
    expect(git(dir, ['rev-list', '--parents', '-n', '1', r.sha]).split(' ').slice(1)).toEqual([
      branchSha,
      mainSha,
    ]);
    expect(git(dir, ['show', `${r.sha}:a.txt`])).toContain('||||||| ');

    // Markers left in: refused.
    await expect(
      commitResolution({
        dir,
        parents: [branchSha, mainSha],
        conflictPaths: ['a.txt'],
        message: 'Merge',
        author: BOT,
      }),
    ).rejects.toMatchObject({ code: 'patch_rejected' });

    writeFileSync(join(dir, 'a.txt'), 'one\nTWO (branch and main)\nthree\n');
    const sha = await commitResolution({
      dir,
      parents: [branchSha, mainSha],
      conflictPaths: ['a.txt'],
      message: 'Merge main into this branch',
      author: BOT,
    });
    expect(git(dir, ['rev-list', '--parents', '-n', '1', sha]).split(' ').slice(1)).toEqual([
      branchSha,
      mainSha,
    ]);
    expect(git(dir, ['show', `${sha}:a.txt`])).toBe('one\nTWO (branch and main)\nthree');
    expect(git(dir, ['show', `${sha}:c.txt`])).toBe('c');
    expect(git(dir, ['log', '-1', '--format=%an', sha])).toBe(BOT.name);
  });

  it('merges cleanly when the sides do not overlap, and never runs a hook from the repository', async () => {
    git(dir, ['checkout', '--quiet', '-b', 'side', root]);
    const side = commit({ 'b.txt': 'b changed on the base\n' }, 'base touches b');
    git(dir, ['checkout', '--quiet', '--detach', branchSha]);
    // A hook a repository (or an agent) planted, named by the repository's own config:
    // runGit's SAFE_GIT_CONFIG points hooksPath at /dev/null on the command line.
    const hook = join(dir, '.git', 'hooks', 'post-merge');
    writeFileSync(hook, `#!/bin/sh\ntouch ${join(dir, 'HOOK_RAN')}\n`, { mode: 0o755 });
    git(dir, ['config', 'core.hooksPath', join(dir, '.git', 'hooks')]);
    const r = await mergeBaseIntoHead({
      dir,
      headSha: branchSha,
      baseSha: side,
      baseRef: 'main',
      author: BOT,
    });
    expect(r.kind).toBe('clean');
    if (r.kind !== 'clean') return;
    expect(git(dir, ['rev-list', '--parents', '-n', '1', r.sha]).split(' ').slice(1)).toEqual([
      branchSha,
      side,
    ]);
    expect(existsSync(join(dir, 'HOOK_RAN'))).toBe(false);
  });

  it('rebases a branch onto the base when it applies, and gives up (null) on a conflict', async () => {
    git(dir, ['checkout', '--quiet', '-b', 'clean-branch', root]);
    const own = commit({ 'd.txt': 'd\n' }, 'bot change');
    const rebased = await rebaseOntoBase({ dir, headSha: own, baseSha: mainSha, committer: BOT });
    expect(rebased).toMatch(/^[0-9a-f]{40}$/);
    expect(git(dir, ['rev-parse', `${rebased}~1`])).toBe(mainSha);

    git(dir, ['checkout', '--quiet', '--detach', branchSha]);
    expect(await rebaseOntoBase({ dir, headSha: branchSha, baseSha: mainSha, committer: BOT })).toBeNull();
    expect(git(dir, ['rev-parse', 'HEAD'])).toBe(branchSha);
  });
});
