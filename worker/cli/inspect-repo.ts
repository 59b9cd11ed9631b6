import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { PullwrightError } from '../../src/errors.js';
import { gitText } from '../workspace/git.js';

/** The user's repository as `pullwright run` sees it; only ever read, and at the end fetched into. */
export interface LocalRepo {
  /** The work tree's top level. */
  top: string;
  /** The commit the agent starts from. */
  head: string;
  /** The git common dir (transcripts go under it, outside the work tree). */
  commonDir: string;
  /** Whether tracked files have uncommitted changes (left out of the run). */
  dirty: boolean;
}

/** Checks that `path` is inside a git work tree with a commit; throws `input_invalid` saying what is wrong. */
export async function inspectRepo(path: string): Promise<LocalRepo> {
  const abs = resolve(path);
  const info = await stat(abs).catch(() => null);
  if (!info?.isDirectory())
    throw new PullwrightError(
      'input_invalid',
      `The repository path ${abs} does not exist or is not a folder.`,
    );
  let top: string;
  try {
    top = await gitText(['-C', abs, 'rev-parse', '--show-toplevel']);
  } catch (err) {
    // git refuses repositories owned by another user (their config could run code); say so plainly.
    if (err instanceof Error && /dubious ownership/.test(err.message))
      throw new PullwrightError(
        'input_invalid',
        `${abs} belongs to another user, so git will not read it for you. Run pullwright as the repository's owner.`,
      );
    throw new PullwrightError('input_invalid', `${abs} is not inside a git repository.`);
  }
  const head = await gitText(['-C', top, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).catch(
    () => '',
  );
  if (!/^[0-9a-f]{40}$/.test(head))
    throw new PullwrightError('input_invalid', `${top} has no commits yet; commit something first.`);
  let commonDir = await gitText(['-C', top, 'rev-parse', '--git-common-dir']);
  if (!isAbsolute(commonDir)) commonDir = resolve(top, commonDir);
  const status = await gitText(['-C', top, 'status', '--porcelain', '--untracked-files=no']).catch(() => '');
  return { top, head, commonDir, dirty: status.trim() !== '' };
}
