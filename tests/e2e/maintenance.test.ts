import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../scripts/local-stack.js';
import { listRepoSchedulers } from '../../src/queue/schedulers.js';
import { finish, reply, type Scenario, tool, toolExchanges } from '../twins/model/index.js';
import { stack, waitFor } from './e2e-helpers.js';

let edit = 'Keep it tidy.';
/** Appends a line to the README, whatever the prompt says. */
const tidy: Scenario = {
  name: 'tidy',
  description: 'test: maintenance edit',
  respond(request) {
    return toolExchanges(request).length === 0
      ? reply(
          tool('str_replace_based_edit_tool', {
            command: 'str_replace',
            path: 'README.md',
            old_str: '# twin-sample\n',
            new_str: `# twin-sample\n\n${edit}\n`,
          }),
        )
      : finish('Tidied the README.');
  },
};

describe('scheduled maintenance, end to end', { timeout: 420_000 }, () => {
  let s: LocalStack;
  beforeAll(async () => {
    s = await stack();
    s.model?.setScenario(tidy);
  });
  afterAll(async () => {
    await s?.close();
  });

  const runTask = async () => {
    const before = (await s.app.taskQueue.queue.getJobs(['completed', 'failed'])).length;
    // What the scheduler enqueues when its cron fires (the scheduler itself is covered by intake tests).
    const result = await s.app.taskQueue.enqueueTask(
      {
        kind: 'maintenance',
        installationId: s.installationId,
        repo: { owner: 'alice', name: 'mathlib' },
        maintenanceTaskId: 'tidy-readme',
        trigger: { actor: s.github.app.botLogin, source: 'schedule', instruction: 'Tidy the README' },
        requestedAt: new Date().toISOString(),
      },
      { deliveryId: `schedule-${Date.now()}` },
    );
    expect(result.status).toBe('enqueued');
    await waitFor(
      'the maintenance run',
      async () => (await s.app.taskQueue.queue.getJobs(['completed', 'failed'])).length > before,
    );
  };

  it('declares a schedule from the config on the default branch, then keeps one PR per task', async () => {
    const { github, repo } = s;
    const config = [
      'verify:',
      '  - npm test',
      'maintenance:',
      '  - id: tidy-readme',
      "    cron: '0 3 * * 1'",
      '    timezone: Europe/Paris',
      '    prompt: Tidy the README',
      '    maxOpenPrs: 1',
      '    maxNewPrsPerHour: 5',
      '',
    ].join('\n');
    await github.actions.pushFiles({
      repo,
      branch: 'main',
      files: { '.github/pullwright.yml': config },
      sender: 'alice',
    });
    await waitFor(
      'the scheduler',
      async () =>
        (
          await listRepoSchedulers(s.config.QUEUE_PREFIX, s.app.redis, s.installationId, {
            owner: 'alice',
            name: 'mathlib',
          })
        ).length === 1,
    );

    await runTask();
    const pulls = () =>
      github.inspect.pulls(repo).filter((p) => p.head === 'pullwright/maintenance/tidy-readme');
    expect(pulls()).toHaveLength(1);
    const first = pulls()[0]!;
    expect(await github.inspect.file(repo, first.head, 'README.md')).toContain('Keep it tidy.');

    // The same change again: nothing new is opened or pushed.
    await runTask();
    expect(pulls()).toHaveLength(1);
    expect(github.inspect.pull(repo, first.number)?.headSha).toBe(first.headSha);

    // A different change refreshes the same PR, regenerated from the base.
    edit = 'Keep it tidier.';
    await runTask();
    expect(pulls()).toHaveLength(1);
    const refreshed = github.inspect.pull(repo, first.number)!;
    expect(refreshed.headSha).not.toBe(first.headSha);
    const readme = await github.inspect.file(repo, first.head, 'README.md');
    expect(readme).toContain('Keep it tidier.');
    expect(readme).not.toContain('Keep it tidy.\n');
  });

  it('does not re-propose a change a person closed', async () => {
    const { github, repo } = s;
    const pull = github.inspect.pulls(repo).find((p) => p.head === 'pullwright/maintenance/tidy-readme')!;
    await github.actions.closeIssue({ repo, number: pull.number, sender: 'alice' });
    expect(github.inspect.pull(repo, pull.number)?.state).toBe('closed');
    await runTask();
    expect(
      github.inspect
        .pulls(repo)
        .filter((p) => p.head === 'pullwright/maintenance/tidy-readme' && p.state === 'open'),
    ).toHaveLength(0);
  });
});
