import { randomUUID } from 'node:crypto';
import type { ProbotOctokit } from 'probot';
import { Probot } from 'probot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbotContextOctokit } from '../../src/github/probot-context-octokit.js';
import { createSilentLogger } from '../../src/logger.js';
import { type GitHubTwin, startGitHubTwin } from '../twins/github/index.js';

/**
 * Pullwright's handlers never use `context.octokit`, so Probot gets a lean
 * class with lazily set-up auth, and the per-delivery client is only built on
 * first use. It must still be a working, installation-authenticated client,
 * with Probot's hooks, for anyone who does use it.
 */
describe('the lean context.octokit Probot builds per delivery', () => {
  let twin: GitHubTwin;
  let installationId: number;
  const owner = `o${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    twin = await startGitHubTwin();
    twin.seed.user({ login: owner });
    await twin.seed.repo({ owner, name: 'app', files: { 'README.md': '# app\n' } });
    installationId = twin.seed.installation({ account: owner }).id;
  });
  afterAll(async () => {
    await twin?.close();
  });

  it('authenticates as the installation on its first request', async () => {
    const probot = new Probot({
      appId: twin.app.id,
      privateKey: twin.app.privateKey,
      secret: twin.app.webhookSecret,
      baseUrl: twin.url,
      log: createSilentLogger(),
      Octokit: ProbotContextOctokit as unknown as typeof ProbotOctokit,
    });
    const deliveryId = randomUUID();
    const seen: { name?: string; status?: number; tokenType?: string; deliveryHeader?: unknown } = {};
    probot.on('issues.opened', async (context) => {
      // Probot's own hook (registered before the client existed) must reach the real client.
      context.octokit.hook.after('request', (_response, options) => {
        seen.deliveryHeader = options.headers['x-github-delivery'];
      });
      const repo = await context.octokit.request('GET /repos/{owner}/{repo}', { owner, repo: 'app' });
      seen.name = (repo.data as { full_name: string }).full_name;
      seen.status = repo.status;
      const auth = (await context.octokit.auth({ type: 'installation' })) as { tokenType?: string };
      seen.tokenType = auth.tokenType;
    });
    await probot.receive({
      id: deliveryId,
      name: 'issues',
      payload: {
        action: 'opened',
        installation: { id: installationId },
        repository: { name: 'app', owner: { login: owner } },
        issue: { number: 1 },
        sender: { login: owner },
      },
    } as never);
    expect(seen).toEqual({
      name: `${owner}/app`,
      status: 200,
      tokenType: 'installation',
      deliveryHeader: deliveryId,
    });
  });
});
