import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runGit } from '../../worker/workspace/git.js';

/** git's empty HOME lives in the shared temp folder: another user's folder or symlink there is refused. */
describe('the git home folder', () => {
  const previous = process.env.TMPDIR;
  const dirs: string[] = [];
  const home = (tmp: string) => join(tmp, `pullwright-git-home-${process.getuid?.() ?? 'u'}`);
  const withTmp = () => {
    const tmp = mkdtempSync(join(tmpdir(), 'pw-git-home-'));
    dirs.push(tmp);
    process.env.TMPDIR = tmp;
    return tmp;
  };
  afterEach(() => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('is refused when others can write to it (they could plant git attributes or ignores)', async () => {
    const tmp = withTmp();
    mkdirSync(home(tmp), { mode: 0o777 });
    chmodSync(home(tmp), 0o777);
    await expect(runGit(['--version'])).rejects.toMatchObject({ code: 'config_invalid' });
  });

  it('is refused when it is a symlink', async () => {
    const tmp = withTmp();
    mkdirSync(join(tmp, 'elsewhere'), { mode: 0o700 });
    symlinkSync(join(tmp, 'elsewhere'), home(tmp));
    await expect(runGit(['--version'])).rejects.toMatchObject({ code: 'config_invalid' });
  });

  it('is created private when missing, and git runs', async () => {
    withTmp();
    const { stdout } = await runGit(['--version']);
    expect(stdout.toString()).toMatch(/^git version/);
  });
});
