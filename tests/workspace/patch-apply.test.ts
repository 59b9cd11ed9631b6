import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPatch } from '../../worker/workspace/patch.js';
import { git, makeTmp } from './fixtures.js';

/**
 * Issue 14 item 2 (c): a path through a symlink already in the tree. An extracted
 * patch names the real path (git records what is on disk); a forged one that writes
 * `ci/x.yml` beside `ci -> .github/workflows` must not land in the workflows folder.
 */

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await makeTmp('pw-patch-apply-'));
});
afterAll(() => cleanup());

describe('applyPatch and symlinks in the clean checkout', () => {
  it('refuses a patch that writes through a symlink in the base tree', async () => {
    const dir = join(root, 'clean');
    await mkdir(join(dir, '.github', 'workflows'), { recursive: true });
    git(dir, ['init', '--quiet']);
    await writeFile(join(dir, '.github', 'workflows', 'ci.yml'), 'on: push\n');
    await symlink('.github/workflows', join(dir, 'ci'));
    git(dir, ['add', '-A']);
    git(dir, ['commit', '--quiet', '-m', 'base']);
    const forged = [
      'diff --git a/ci/x.yml b/ci/x.yml',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/ci/x.yml',
      '@@ -0,0 +1 @@',
      '+on: push',
      '',
    ].join('\n');
    await expect(applyPatch({ cleanDir: dir, patch: forged })).rejects.toMatchObject({ code: 'conflict' });
    expect(git(dir, ['status', '--porcelain'])).toBe('');
  });
});
