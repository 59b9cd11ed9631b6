import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findPatchProblems, type PatchSafetyOptions } from '../../worker/delivery/patch-safety.js';
import { realPatch, removePatchRepos } from './real-patch.js';

/**
 * Issue 14 item 2, patch side (contract: /work/coord/api-security-config.md §1): a
 * protected glob `X/**` also covers the bare `X`, symlinks that land on a protected
 * path, paths written through such links, and both sides of a rename.
 */

afterAll(removePatchRepos);

const options: PatchSafetyOptions = { protectedPaths: ['.github/**', '.gitmodules'] };
const kindsAndPaths = (patch: string, opts: PatchSafetyOptions = options) =>
  findPatchProblems(patch, opts).map((f) => [f.kind, f.path]);

describe('protected paths: the bare folder', () => {
  it('refuses a change that replaces .github by a file', () => {
    const patch = realPatch(
      () => {},
      (d) => writeFileSync(join(d, '.github'), 'not a folder\n'),
    );
    expect(kindsAndPaths(patch)).toEqual([['protected-path', '.github']]);
  });

  it('refuses .github turned into a symlink, and the deletion of the folder it replaced', () => {
    const patch = realPatch(
      (d) => {
        mkdirSync(join(d, '.github/workflows'), { recursive: true });
        writeFileSync(join(d, '.github/workflows/ci.yml'), 'on: push\n');
        mkdirSync(join(d, 'evil/workflows'), { recursive: true });
        writeFileSync(join(d, 'evil/workflows/ci.yml'), 'on: push\njobs: {}\n');
      },
      (d) => {
        rmSync(join(d, '.github'), { recursive: true });
        symlinkSync('evil', join(d, '.github'));
      },
    );
    const found = kindsAndPaths(patch);
    expect(found).toContainEqual(['protected-path', '.github']);
    expect(found).toContainEqual(['protected-path', '.github/workflows/ci.yml']);
  });

  it('counts parents of a protected folder (a narrower glob) and the folder itself', () => {
    const narrow = { protectedPaths: ['.github/workflows/**'] };
    const patch = realPatch(
      () => {},
      (d) => writeFileSync(join(d, '.github'), 'x\n'),
    );
    expect(kindsAndPaths(patch, narrow)).toEqual([['protected-path', '.github']]);
    const folder = realPatch(
      (d) => mkdirSync(join(d, '.github')),
      (d) => writeFileSync(join(d, '.github/workflows'), 'x\n'),
    );
    expect(kindsAndPaths(folder, narrow)).toEqual([['protected-path', '.github/workflows']]);
    // A neighbour that only shares a prefix is not protected.
    const neighbour = realPatch(
      () => {},
      (d) => writeFileSync(join(d, '.githubx'), 'x\n'),
    );
    expect(kindsAndPaths(neighbour, narrow)).toEqual([]);
  });
});

describe('protected paths: symlinks', () => {
  it('refuses a new symlink to a workflow file', () => {
    const patch = realPatch(
      () => {},
      (d) => symlinkSync('.github/workflows/ci.yml', join(d, 'x')),
    );
    expect(patch).toContain('new file mode 120000');
    const findings = findPatchProblems(patch, options);
    expect(findings.map((f) => [f.kind, f.path])).toEqual([['protected-path', 'x']]);
    expect(findings[0]?.message).toContain('.github/workflows/ci.yml');
  });

  it('refuses a symlink into .github through .. (docs/gh -> ../.github) and one to the repository root', () => {
    const patch = realPatch(
      (d) => mkdirSync(join(d, 'docs')),
      (d) => {
        symlinkSync('../.github', join(d, 'docs', 'gh'));
        symlinkSync('.', join(d, 'root'));
      },
    );
    expect(kindsAndPaths(patch)).toEqual([
      ['protected-path', 'docs/gh'],
      ['protected-path', 'root'],
    ]);
  });

  it('refuses symlinks that are absolute or leave the repository (docs -> ../.github at the root)', () => {
    const patch = realPatch(
      () => {},
      (d) => {
        symlinkSync('../.github', join(d, 'docs'));
        symlinkSync('/etc/passwd', join(d, 'passwd'));
      },
    );
    expect(kindsAndPaths(patch)).toEqual([
      ['unsafe-symlink', 'docs'],
      ['unsafe-symlink', 'passwd'],
    ]);
  });

  it('refuses a symlink changed to point at a protected path', () => {
    const patch = realPatch(
      (d) => {
        mkdirSync(join(d, 'docs'));
        symlinkSync('docs', join(d, 'link'));
      },
      (d) => {
        unlinkSync(join(d, 'link'));
        symlinkSync('.github', join(d, 'link'));
      },
    );
    expect(patch).toContain('index ');
    expect(kindsAndPaths(patch)).toEqual([['protected-path', 'link']]);
  });

  it('judges a path written through a symlink the same patch adds on where it lands', () => {
    const patch = [
      'diff --git a/ci b/ci',
      'new file mode 120000',
      'index 0000000..1111111',
      '--- /dev/null',
      '+++ b/ci',
      '@@ -0,0 +1 @@',
      '+.github/workflows',
      '\\ No newline at end of file',
      'diff --git a/ci/x.yml b/ci/x.yml',
      'new file mode 100644',
      'index 0000000..2222222',
      '--- /dev/null',
      '+++ b/ci/x.yml',
      '@@ -0,0 +1 @@',
      '+on: push',
      '',
    ].join('\n');
    const findings = findPatchProblems(patch, options);
    expect(findings.map((f) => [f.kind, f.path])).toEqual([
      ['protected-path', 'ci'],
      ['protected-path', 'ci/x.yml'],
    ]);
    expect(findings[1]?.message).toContain('.github/workflows/x.yml');
  });

  it('sees a file written through a symlink already in the tree under its real path', () => {
    // git records what is on disk: writing ci/new.yml through `ci -> .github/workflows`
    // creates .github/workflows/new.yml, which is what the patch names.
    const patch = realPatch(
      (d) => {
        mkdirSync(join(d, '.github/workflows'), { recursive: true });
        writeFileSync(join(d, '.github/workflows/ci.yml'), 'on: push\n');
        symlinkSync('.github/workflows', join(d, 'ci'));
      },
      (d) => writeFileSync(join(d, 'ci', 'new.yml'), 'on: push\n'),
    );
    expect(kindsAndPaths(patch)).toEqual([['protected-path', '.github/workflows/new.yml']]);
  });

  it('accepts ordinary symlinks inside the repository', () => {
    const patch = realPatch(
      (d) => {
        mkdirSync(join(d, 'docs'));
        writeFileSync(join(d, 'README.md'), 'hi\n');
      },
      (d) => {
        symlinkSync('../README.md', join(d, 'docs', 'readme.md'));
        symlinkSync('docs', join(d, 'documentation'));
      },
    );
    expect(findPatchProblems(patch, options)).toEqual([]);
  });

  it('leaves symlink targets alone when protected paths are allowed, but still refuses escaping links', () => {
    const patch = realPatch(
      () => {},
      (d) => {
        symlinkSync('.github/workflows/ci.yml', join(d, 'x'));
        symlinkSync('/etc/passwd', join(d, 'passwd'));
      },
    );
    expect(kindsAndPaths(patch, { ...options, allowProtected: true })).toEqual([
      ['unsafe-symlink', 'passwd'],
    ]);
  });
});

describe('protected paths: renames', () => {
  it('counts both sides of a rename out of a protected folder', () => {
    const patch = realPatch(
      (d) => {
        mkdirSync(join(d, '.github/workflows'), { recursive: true });
        writeFileSync(join(d, '.github/workflows/ci.yml'), 'on: push\njobs: {}\n'.repeat(20));
      },
      (d) => renameSync(join(d, '.github/workflows/ci.yml'), join(d, 'ci.yml')),
    );
    expect(patch).toContain('rename from .github/workflows/ci.yml');
    expect(kindsAndPaths(patch)).toEqual([['protected-path', '.github/workflows/ci.yml']]);
  });
});
