import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { serveDashboard } from '../../src/app/operator-dashboard.js';
import type { TaskQueue } from '../../src/queue/task-queue.js';

/** The queue page's "Costs this month" section, on an empty queue. */
describe('operator dashboard: costs this month', () => {
  const taskQueue = {
    prefix: 'p',
    queue: { getJobCounts: async () => ({}), getJobs: async () => [], getJobSchedulers: async () => [] },
  } as unknown as TaskQueue;

  async function page(
    costs?: Parameters<typeof serveDashboard>[5],
  ): Promise<{ status: number; body: string }> {
    const req = { headers: { authorization: 'Bearer op-token' } } as IncomingMessage;
    let status = 0;
    let body = '';
    const res = {
      writeHead(code: number) {
        status = code;
        return this;
      },
      end(text: string) {
        body = text;
        return this;
      },
    } as unknown as ServerResponse;
    await serveDashboard(req, res, taskQueue, 'op-token', undefined, costs);
    return { status, body };
  }

  it('lists month-to-date runs, tokens and cost per installation and repository, escaped', async () => {
    const { status, body } = await page({
      monthSummary: async () => ({
        month: '2026-12',
        installations: [{ installationId: 7, runs: 3, inputTokens: 1200, outputTokens: 300, costUsd: 1.5 }],
        repos: [
          {
            repo: 'octo/<b>x</b>',
            installationId: 7,
            runs: 3,
            inputTokens: 1200,
            outputTokens: 300,
            costUsd: 1.5,
          },
        ],
      }),
    });
    expect(status).toBe(200);
    expect(body).toContain('<h2>Costs this month (2026-12, $1.50)</h2>');
    expect(body).toContain('<tr><td>7</td><td>3</td><td>1200</td><td>300</td><td>$1.50</td></tr>');
    expect(body).toContain('<td>octo/&lt;b&gt;x&lt;/b&gt;</td>');
    expect(body).not.toContain('<b>x</b>');
  });

  it('has no costs section without a ledger', async () => {
    expect((await page()).body).not.toContain('Costs this month');
  });
});
