import { deleteBranch, gitLog, listBranches, ZERO_SHA } from './git.js';
import { invalidBody, notFound, nowIso } from './http.js';
import { R, type RouteKit } from './router.js';
import { nodeId } from './serialize.js';

/** Git refs and branches: read a branch head, delete a branch. */
export function registerRefRoutes({ core, auth, on }: RouteKit): void {
  const url = core.config.url;

  on('GET', `/repos/${R}/${R}/git/ref/heads/(.+)`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'contents', level: 'read' });
    const branch = decodeURIComponent(ctx.params[2]!);
    const sha = (await listBranches(repo.gitDir))[branch];
    if (!sha) throw notFound();
    return {
      status: 200,
      json: {
        ref: `refs/heads/${branch}`,
        node_id: nodeId('Ref', `${repo.id}:${branch}`),
        url: `${url}/repos/${repo.fullName}/git/refs/heads/${branch}`,
        object: { type: 'commit', sha, url: `${url}/repos/${repo.fullName}/git/commits/${sha}` },
      },
    };
  });

  on('DELETE', `/repos/${R}/${R}/git/refs/heads/(.+)`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'contents', level: 'write' });
    const branch = decodeURIComponent(ctx.params[2]!);
    const before = (await listBranches(repo.gitDir))[branch];
    if (!before || !(await deleteBranch(repo.gitDir, branch))) {
      throw invalidBody('Reference does not exist');
    }
    return { status: 204 };
  });

  on('GET', `/repos/${R}/${R}/branches/(.+)`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'contents', level: 'read' });
    const branch = decodeURIComponent(ctx.params[2]!);
    const sha = (await listBranches(repo.gitDir))[branch];
    if (!sha) throw notFound('Branch not found');
    const [commit] = await gitLog(repo.gitDir, sha);
    const a = (p: string) => `${url}/repos/${repo.fullName}${p}`;
    const person = (name: string, email: string) => ({ name, email, date: nowIso() });
    return {
      status: 200,
      json: {
        name: branch,
        commit: {
          sha,
          node_id: nodeId('Commit', sha),
          url: a(`/commits/${sha}`),
          html_url: `${url}/${repo.fullName}/commit/${sha}`,
          comments_url: a(`/commits/${sha}/comments`),
          commit: {
            url: a(`/git/commits/${sha}`),
            author: person(commit?.authorName ?? '', commit?.authorEmail ?? ''),
            committer: person(commit?.committerName ?? '', commit?.authorEmail ?? ''),
            message: commit?.message ?? '',
            comment_count: 0,
            tree: { sha: ZERO_SHA, url: a(`/git/trees/${ZERO_SHA}`) },
          },
          author: null,
          committer: null,
          parents: (commit?.parents ?? []).map((p) => ({ sha: p, url: a(`/commits/${p}`) })),
        },
        _links: { self: a(`/branches/${branch}`), html: `${url}/${repo.fullName}/tree/${branch}` },
        protected: false,
        protection: {
          enabled: false,
          required_status_checks: { enforcement_level: 'off', contexts: [], checks: [] },
        },
        protection_url: a(`/branches/${branch}/protection`),
      },
    };
  });
}
