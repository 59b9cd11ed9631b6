import type { Octokit } from '@octokit/rest';
import type { RepoRef } from '../domain/task.js';
import type { RepoFile } from './github-port.js';
import { callGitHubOr } from './octokit-errors.js';

/**
 * Files larger than this are not config files. The app and the worker read the
 * same `.github/pullwright.yml`; refusing a bigger one before decoding it bounds
 * the memory a repository owner can make either process spend per read.
 */
export const MAX_REPO_FILE_BYTES = 256 * 1024;

/**
 * A file from the repository's default branch, or null when absent (or a
 * directory). There is deliberately no `ref`: GitHub then reads the default
 * branch, so a PR head (which anyone who can open a PR controls) never supplies
 * config. The JSON form carries the size, so a file over the cap is reported as
 * `tooLarge` with empty text, without its content being decoded.
 */
export async function getDefaultBranchFile(
  octokit: Octokit,
  repo: RepoRef,
  path: string,
  what = 'Reading a file',
): Promise<RepoFile | null> {
  return callGitHubOr(what, null, async () => {
    const { data } = await octokit.rest.repos.getContent({ owner: repo.owner, repo: repo.name, path });
    if (Array.isArray(data) || data.type !== 'file') return null;
    if (data.size > MAX_REPO_FILE_BYTES) return { text: '', sha: data.sha, tooLarge: true };
    const encoded = 'content' in data && typeof data.content === 'string' ? data.content : '';
    return { text: Buffer.from(encoded, 'base64').toString('utf8'), sha: data.sha };
  });
}
