import { describe, expect, it } from 'vitest';
import { PullwrightError } from '../../src/errors.js';
import { runFlow } from '../../worker/flows/run-flow.js';
import { createHarness, implementTask, silent } from './fakes.js';

const run = (h: ReturnType<typeof createHarness>) =>
  runFlow({
    task: implementTask(),
    jobId: 'job-42',
    deps: h.deps,
    signal: new AbortController().signal,
    log: silent,
    finalAttempt: true,
  });

describe('a failed run on the public tracking comment', () => {
  it('shows a generic message with the error code and job, never host paths or engine errors', async () => {
    const h = createHarness();
    h.deps.session.agent.run = async () => {
      throw new PullwrightError(
        'sandbox_failed',
        '(HTTP code 500) server error - mkdir /var/lib/pullwright/runs/job-42/work: permission denied @org/team\n    at Docker.modem (/app/node_modules/docker-modem/lib/modem.js:343:17)',
      );
    };
    await expect(run(h)).rejects.toMatchObject({ code: 'sandbox_failed' });
    const body = h.github.comments[0]?.body ?? '';
    expect(body).toContain('❌ Failed');
    expect(body).toContain(
      'The run failed (sandbox_failed). The operator can find the details in the worker log under job job-42.',
    );
    expect(body).not.toMatch(/\/var\/lib|server error|permission denied|node_modules|modem|@org/);
  });

  it('keeps an unexpected error generic too', async () => {
    const h = createHarness();
    h.deps.session.agent.run = async () => {
      throw new Error("ENOENT: no such file or directory, open '/var/lib/pullwright/secret-config.json'");
    };
    await expect(run(h)).rejects.toThrow();
    const body = h.github.comments[0]?.body ?? '';
    expect(body).toMatch(
      /The run failed \(\w+\)\. The operator can find the details in the worker log under job job-42\./,
    );
    expect(body).not.toMatch(/ENOENT|\/var\/lib|secret-config/);
  });
});
