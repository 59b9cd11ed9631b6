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

  async function forRepo(installationId: number, repo: RepoRef): Promise<RepoGitHub> {
    const auth = await callGitHub('Minting an installation token', () =>
      appAuth({
        type: 'installation',
        installationId,
        repositoryNames: [repo.name],
        permissions: { ...JOB_TOKEN_PERMISSIONS },
        // A job's token is its own: never one cached for another job of the same repository.
        refresh: true,
      }),
    );
    const octokit = createResilientOctokit({ auth: auth.token, baseUrl: options.baseUrl, log: options.log });
    return createOctokitRepoGitHub({ octokit, repo, token: auth.token, tokenExpiresAt: auth.expiresAt });
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
