import { readPath, resolveRef } from './git.js';
import { type Handler, notFound, PERMISSION_RANK } from './http.js';
import { R, type RouteKit } from './router.js';
import type { Permission } from './types.js';

/** A repository, its contents and a person's permission on it. */
export function registerRepoRoutes({ core, auth, on }: RouteKit): void {
  const { state, ser } = core;
  const url = core.config.url;

  on('GET', `/repos/${R}/${R}`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'metadata', level: 'read' });
    const json = ser.fullRepo(repo);
    // A person's token sees that person's own permissions on the repository, as on GitHub.
    if (ctx.auth.kind === 'user')
      json.permissions = viewerPermissions(state.permissionOf(repo, ctx.auth.user.login));
    return { status: 200, json };
  });

  const contents: Handler = async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'contents', level: 'read' });
    const path = decodeURIComponent(ctx.params[2] ?? '').replace(/^\/+|\/+$/g, '');
    const ref = ctx.url.searchParams.get('ref') ?? repo.defaultBranch;
    const sha = await resolveRef(repo.gitDir, ref);
    if (!sha) {
      throw notFound(`No commit found for the ref ${ref}`);
    }
    const entry = await readPath(repo.gitDir, sha, path);
    if (!entry) throw notFound();
    const accept = String(ctx.req.headers.accept ?? '');
    const itemJson = (p: string, type: string, entrySha: string, size: number) => {
      const self = `${url}/repos/${repo.fullName}/contents/${p}?ref=${encodeURIComponent(ref)}`;
      const gitUrl = `${url}/repos/${repo.fullName}/git/${type === 'dir' ? 'trees' : 'blobs'}/${entrySha}`;
      const html = `${url}/${repo.fullName}/${type === 'dir' ? 'tree' : 'blob'}/${ref}/${p}`;
      return {
        name: p.split('/').pop() ?? p,
        path: p,
        sha: entrySha,
        size,
        url: self,
        html_url: html,
        git_url: gitUrl,
        download_url: type === 'file' ? `${url}/${repo.fullName}/raw/${ref}/${p}` : null,
        type,
        _links: { self, git: gitUrl, html },
      };
    };
    if (entry.type === 'file') {
      if (/application\/vnd\.github(\.v3)?\.raw/.test(accept)) {
        return { status: 200, raw: entry.content, headers: { 'content-type': 'text/plain; charset=utf-8' } };
      }
      const b64 = entry.content.toString('base64').replace(/(.{60})/g, '$1\n');
      return {
        status: 200,
        json: { ...itemJson(path, 'file', entry.sha, entry.size), content: b64, encoding: 'base64' },
      };
    }
    return {
      status: 200,
      json: entry.entries.map((e) => itemJson(path ? `${path}/${e.name}` : e.name, e.type, e.sha, e.size)),
    };
  };
  on('GET', `/repos/${R}/${R}/contents`, contents);
  on('GET', `/repos/${R}/${R}/contents/(.+)`, contents);

  on('GET', `/repos/${R}/${R}/collaborators/${R}/permission`, async (ctx) => {
    const repo = auth.repoAccess(ctx, { perm: 'metadata', level: 'read' });
    const user = state.findUser(decodeURIComponent(ctx.params[2]!));
    if (!user) throw notFound();
    const role = state.permissionOf(repo, user.login);
    const permission =
      role === 'admin'
        ? 'admin'
        : role === 'maintain' || role === 'write'
          ? 'write'
          : role === 'none'
            ? 'none'
            : 'read';
    const atLeast = (level: keyof typeof PERMISSION_RANK) => PERMISSION_RANK[role] >= PERMISSION_RANK[level];
    return {
      status: 200,
      json: {
        permission,
        role_name: role,
        user: {
          ...ser.user(user.login),
          permissions: {
            admin: role === 'admin',
            maintain: atLeast('maintain'),
            push: atLeast('write'),
            triage: atLeast('triage'),
            pull: atLeast('read'),
          },
          role_name: role,
        },
      },
    };
  });
}

/** GitHub's `permissions` object of a repository for a person with role `perm` (each role implies those below it). */
export function viewerPermissions(perm: Permission | 'none'): Record<string, boolean> {
  const rank = PERMISSION_RANK[perm];
  return {
    admin: rank >= PERMISSION_RANK.admin,
    maintain: rank >= PERMISSION_RANK.maintain,
    push: rank >= PERMISSION_RANK.write,
    triage: rank >= PERMISSION_RANK.triage,
    pull: rank >= PERMISSION_RANK.read,
  };
}
