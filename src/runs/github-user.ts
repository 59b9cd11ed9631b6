import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { PullwrightError } from '../errors.js';
import { keyPrefix } from '../queue/queue-names.js';

/**
 * The signed-in person on GitHub, through the GitHub App's user-authorization
 * flow (OAuth with PKCE): exchange the code, read `GET /user`, and find what the
 * person may do on a repository with `GET /user/installations/{id}/repositories`,
 * which lists only repositories of our installation the person can see, each with
 * the person's own permissions. That list is cached briefly per session and
 * installation: access revoked on GitHub stops working within ACCESS_TTL_SECONDS.
 *
 * Plain fetch, not Octokit: these calls use the person's token, never the
 * app's credentials, so they stay apart from src/github's app clients.
 */
export const ACCESS_TTL_SECONDS = 60;
/** A person who sees more than this many repositories of one installation is checked on the first pages only. */
const MAX_REPO_PAGES = 10;

export type RepoAccess = 'none' | 'read' | 'write';

export interface GitHubUserOptions {
  clientId: string;
  clientSecret: string;
  /** Where people sign in (GITHUB_WEB_URL, default GITHUB_GIT_URL): https://github.com */
  webUrl: string;
  /** The REST API: https://api.github.com */
  apiUrl: string;
  redis: Redis;
  prefix: string;
  fetch?: typeof fetch;
  /** How long an access answer is reused (tests shorten it). */
  accessTtlSeconds?: number;
}

export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export function createGitHubUser(options: GitHubUserOptions) {
  const doFetch = options.fetch ?? fetch;
  const web = options.webUrl.replace(/\/+$/, '');
  const api = options.apiUrl.replace(/\/+$/, '');
  const kp = keyPrefix(options.prefix);

  async function apiGet(path: string, token: string): Promise<{ status: number; body: unknown }> {
    const res = await doFetch(`${api}${path}`, {
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${token}`,
        'x-github-api-version': '2022-11-28',
        'user-agent': 'pullwright-run-pages',
      },
      signal: AbortSignal.timeout(10_000),
    });
    const body = res.status === 204 ? null : await res.json().catch(() => null);
    return { status: res.status, body };
  }

  return {
    authorizeUrl(params: { redirectUri: string; state: string; verifier: string }): string {
      const q = new URLSearchParams({
        client_id: options.clientId,
        redirect_uri: params.redirectUri,
        state: params.state,
        code_challenge: pkceChallenge(params.verifier),
        code_challenge_method: 'S256',
      });
      return `${web}/login/oauth/authorize?${q}`;
    },

    async exchange(params: {
      code: string;
      redirectUri: string;
      verifier: string;
    }): Promise<{ token: string; expiresIn?: number }> {
      const res = await doFetch(`${web}/login/oauth/access_token`, {
        method: 'POST',
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          'user-agent': 'pullwright-run-pages',
        },
        body: JSON.stringify({
          client_id: options.clientId,
          client_secret: options.clientSecret,
          code: params.code,
          redirect_uri: params.redirectUri,
          code_verifier: params.verifier,
        }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json().catch(() => ({}))) as {
        access_token?: string;
        expires_in?: number;
        error?: string;
      };
      if (!res.ok || !body.access_token)
        throw new PullwrightError('unauthorized', 'GitHub refused the sign-in code', {
          retryable: false,
          details: { error: body.error ?? `http_${res.status}` },
        });
      return { token: body.access_token, expiresIn: body.expires_in };
    },

    async user(token: string): Promise<{ login: string; id: number }> {
      const { status, body } = await apiGet('/user', token);
      const user = body as { login?: unknown; id?: unknown } | null;
      if (status !== 200 || typeof user?.login !== 'string' || typeof user.id !== 'number')
        throw new PullwrightError('unauthorized', 'GitHub did not return the signed-in user', {
          retryable: false,
        });
      return { login: user.login, id: user.id };
    },

    /** What the person may do on `owner/name` of the installation: none, read or write. */
    async access(params: {
      sessionId: string;
      token: string;
      installationId: number;
      repo: string;
    }): Promise<RepoAccess> {
      const cacheKey = `${kp}:web-access:${params.sessionId}:${params.installationId}`;
      let map: Record<string, RepoAccess>;
      const cached = await options.redis.get(cacheKey);
      if (cached !== null) map = JSON.parse(cached) as Record<string, RepoAccess>;
      else {
        map = {};
        for (let page = 1; page <= MAX_REPO_PAGES; page++) {
          const { status, body } = await apiGet(
            `/user/installations/${params.installationId}/repositories?per_page=100&page=${page}`,
            params.token,
          );
          // 404/403: the person sees nothing of this installation (or the token is gone).
          if (status !== 200) break;
          const repos = ((body as { repositories?: unknown[] } | null)?.repositories ?? []) as {
            full_name?: string;
            permissions?: { pull?: boolean; push?: boolean; maintain?: boolean; admin?: boolean };
          }[];
          for (const r of repos) {
            if (typeof r.full_name !== 'string') continue;
            const p = r.permissions ?? {};
            map[r.full_name.toLowerCase()] =
              p.push || p.maintain || p.admin ? 'write' : p.pull ? 'read' : 'none';
          }
          if (repos.length < 100) break;
        }
        await options.redis.set(
          cacheKey,
          JSON.stringify(map),
          'EX',
          options.accessTtlSeconds ?? ACCESS_TTL_SECONDS,
        );
      }
      return map[params.repo.toLowerCase()] ?? 'none';
    },
  };
}

export type GitHubUser = ReturnType<typeof createGitHubUser>;
