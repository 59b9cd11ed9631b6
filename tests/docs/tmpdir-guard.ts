import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * Opt-in check that a test file cleans up its temp files (PLAN: "tests clean up what they create";
 * issue 13 found about 20 transcript folders left by one `npm test`). With PULLWRIGHT_TMP_CHECK=1
 * each test file gets a private TMPDIR (child processes inherit it), and the file fails when anything
 * is left in it after its own afterAll hooks. Off by default: a leftover is a bug to fix in the test
 * that leaves it, not a reason to fail every run of the suite while it is being fixed.
 *
 *   PULLWRIGHT_TMP_CHECK=1 npx vitest run tests/agent/loop
 */

/**
 * Shared on purpose, one per host and user, so not leaks: tsx's compile cache, the empty HOME git
 * runs with (worker/workspace/git.ts). The sandbox's egress root is one per host too, but each
 * sandbox's folder inside it must go with the sandbox, so its entries are checked.
 */
const SHARED = /^(tsx-\d+|pullwright-git-home-\w+)$/;
const CHECKED_INSIDE = 'pullwright-egress';

function leftovers(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SHARED.test(name)) return [];
    if (name === CHECKED_INSIDE) return readdirSync(join(dir, name)).map((inner) => `${name}/${inner}`);
    return [name];
  });
}

export function guardTmpdir(): void {
  if (process.env.PULLWRIGHT_TMP_CHECK !== '1') return;
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'pw-tmp-check-'));
  process.env.TMPDIR = dir;
  // Registered before the test file's own hooks, so (hooks run as a stack) it runs after them.
  afterAll(() => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    const left = leftovers(dir);
    rmSync(dir, { recursive: true, force: true });
    if (left.length > 0) {
      throw new Error(`this test file left ${left.length} entries in its temp dir: ${left.join(', ')}`);
    }
  });
}

guardTmpdir();
