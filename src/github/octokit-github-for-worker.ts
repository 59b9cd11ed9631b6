import { createAppAuth } from '@octokit/auth-app';
import type { RepoRef } from '../domain/task.js';
import type { Logger } from '../logger.js';
import { ensureFork, type ForkAccountAuth } from './ensure-fork.js';
import type { GitHubForWorker, RepoFork, RepoGitHub } from './github-for-worker.js';
import { callGitHub, callGitHubOr } from './octokit-errors.js';
import { createOctokitRepoGitHub } from './octokit-repo-github.js';
import { createResilientOctokit } from './resilient-octokit.js';

/**
 * The worker's GitHub adapter. Each job mints its own installation token, scoped
 * to the one repository it works on and to the permissions a run needs, so a
 * job can never act on another repository of the installation.
 */
export const JOB_TOKEN_PERMISSIONS = {
  contents: 'write',
  issues: 'write',
  pull_requests: 'write',
  metadata: 'read',
} as const;

/**
 * Asked for only when the installation has them, so an installation that predates them (or an
 * operator who removed them) still runs jobs: GitHub refuses the whole token when one requested
 * permission is not granted. `checks: write` is the Pullwright check run and reading CI results,
 * `actions` reads workflow runs, jobs and logs (`write`: re-running failed jobs to spot flaky ones),
 * `statuses: read` the legacy commit statuses.
 */
export const OPTIONAL_JOB_PERMISSIONS = ['checks', 'actions', 'statuses'] as const;

type Access = 'read' | 'write';

/** The job token's permissions: the required ones, plus each optional one at the level installed. */
export function jobTokenPermissions(
  installed: Readonly<Record<string, string | undefined>>,
): Record<string, Access> {
  const out: Record<string, Access> = { ...JOB_TOKEN_PERMISSIONS };
  for (const name of OPTIONAL_JOB_PERMISSIONS) {
    const level = installed[name];
    // `statuses` is only ever read by a job: writing a status is not something a run does.
    if (level === 'write') out[name] = name === 'statuses' ? 'read' : 'write';
    else if (level === 'read') out[name] = 'read';
  }
  return out;
}

export interface OctokitGitHubForWorkerOptions {
  appId: string | number;
  privateKey: string;
  baseUrl: string;
  log: Logger;
}

export function createOctokitGitHubForWorker(options: OctokitGitHubForWorkerOptions): GitHubForWorker {
  const appAuth = createAppAuth({
    appId: options.appId,
    privateKey: options.privateKey,
    // App-level requests (token minting) get the same retries as everything else.
    request: createResilientOctokit({ baseUrl: options.baseUrl, log: options.log }).request,
  });

  // What the installation was granted and the app's slug change rarely (an owner accepting new
  // permissions); read them at most once a minute per installation instead of once per job.
  const installs = new Map<
    number,
    { at: number; permissions: Record<string, string | undefined>; slug: string }
  >();
  async function installationInfo(installationId: number) {
    const cached = installs.get(installationId);
    if (cached && Date.now() - cached.at < 60_000) return cached;
    const { token: jwt } = await callGitHub('Authenticating as the app', () => appAuth({ type: 'app' }));
    const app = createResilientOctokit({ auth: jwt, baseUrl: options.baseUrl, log: options.log });
    const { data } = await callGitHub('Reading the installation', () =>
      app.rest.apps.getInstallation({ installation_id: installationId }),
    );
    const info = {
      at: Date.now(),
      permissions: data.permissions as Record<string, string | undefined>,
      slug: data.app_slug,
    };
    installs.set(installationId, info);
    return info;
  }

  async function forRepo(installationId: number, repo: RepoRef): Promise<RepoGitHub> {
    const info = await installationInfo(installationId);
    const permissions = jobTokenPermissions(info.permissions);
    const auth = await callGitHub('Minting an installation token', () =>
      appAuth({
        type: 'installation',
        installationId,
        repositoryNames: [repo.name],
        permissions,
        // A job's token is its own: never one cached for another job of the same repository.
        refresh: true,
      }),
    );
    const octokit = createResilientOctokit({ auth: auth.token, baseUrl: options.baseUrl, log: options.log });
    return createOctokitRepoGitHub({
      octokit,
      repo,
      token: auth.token,
      tokenExpiresAt: auth.expiresAt,
      permissions,
      botLogin: `${info.slug}[bot]`,
    });
  }

  /** The app's installation on the fork account: an organization's, else a user's. */
  async function forkAccountAuth(account: string): Promise<ForkAccountAuth> {
    const { token: jwt } = await appAuth({ type: 'app' });
    const app = createResilientOctokit({ auth: jwt, baseUrl: options.baseUrl, log: options.log });
    const org = await callGitHubOr('Finding the fork account installation', null, async () => {
      const { data } = await app.rest.apps.getOrgInstallation({ org: account });
      return data;
    });
    const installation =
      org ??
      (await callGitHub('Finding the fork account installation', async () => {
        const { data } = await app.rest.apps.getUserInstallation({ username: account });
        return data;
      }));
    const mint = (permissions: Record<string, 'read' | 'write'>, repositoryNames?: string[]) =>
      callGitHub('Minting a fork account token', () =>
        appAuth({
          type: 'installation',
          installationId: installation.id,
          permissions,
          repositoryNames,
          refresh: true,
        }),
      );
    return {
      isOrganization: org !== null,
      async client(permissions) {
        const { token } = await mint(permissions);
        return createResilientOctokit({ auth: token, baseUrl: options.baseUrl, log: options.log });
      },
      async pushToken(repo) {
        const { token, expiresAt } = await mint({ contents: 'write', metadata: 'read' }, [repo]);
        return {
          token,
          expiresAt,
          client: createResilientOctokit({ auth: token, baseUrl: options.baseUrl, log: options.log }),
        };
      },
    };
  }

  async function forkFor(base: RepoRef, forkOwner: string): Promise<RepoFork> {
    return ensureFork(await forkAccountAuth(forkOwner), base, forkOwner);
  }

  return { forRepo, forkFor };
}
