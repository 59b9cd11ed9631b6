import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Queue } from 'bullmq';
import type { TaskQueue } from '../queue/task-queue.js';
import type { MonthSummary } from '../runs/cost-ledger.js';

/**
 * A small read-only queue page for operators, instead of Bull Board: job data
 * holds untrusted text (instructions from comments), so everything is escaped,
 * and there are no buttons that could be driven by a forged request.
 */
export const DASHBOARD_PATH = '/admin/queues';

const STATES = ['active', 'waiting', 'delayed', 'prioritized', 'failed', 'completed'] as const;

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** One table row; every cell escaped (job data holds untrusted text). */
function tableRow(cells: string[]): string {
  return `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Bearer token, or HTTP Basic with the token as password (so a browser can log in). */
export function isOperator(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  let presented: string | null = null;
  if (header.startsWith('Bearer ')) presented = header.slice('Bearer '.length).trim();
  else if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
    presented = decoded.slice(decoded.indexOf(':') + 1);
  }
  // Constant-time comparison of digests: no timing oracle on the token.
  return presented !== null && timingSafeEqual(digest(presented), digest(token));
}

/** Deliveries waiting for a replay because GitHub could not answer, and those given up. */
async function parkedSection(parked: Queue): Promise<string> {
  const states = ['delayed', 'waiting', 'active', 'failed'] as const;
  const counts = await parked.getJobCounts(...states);
  const rows: string[] = [];
  for (const state of states) {
    for (const job of await parked.getJobs([state], 0, 24, false)) {
      const cells = [
        state,
        String(job.data?.deliveryId ?? ''),
        job.name,
        String(job.data?.parkedAt ?? ''),
        String(job.attemptsMade),
        job.failedReason ?? String(job.data?.reason ?? ''),
      ];
      rows.push(tableRow(cells));
    }
  }
  const total = states.reduce((n, state) => n + (counts[state] ?? 0), 0);
  return `<h2>Parked deliveries (${total})</h2><table><tr><th>state</th><th>delivery</th><th>event</th><th>parked</th><th>attempts</th><th>reason</th></tr>${rows.join('\n')}</table>`;
}

/** Month-to-date model spend per installation and repository (src/runs/cost-ledger.ts). */
async function costsSection(costs: { monthSummary(): Promise<MonthSummary> }): Promise<string> {
  const summary = await costs.monthSummary();
  const usd = (n: number) => `$${n.toFixed(2)}`;
  const totals = (t: MonthSummary['installations'][number]) => [
    String(t.runs),
    String(t.inputTokens),
    String(t.outputTokens),
    usd(t.costUsd),
  ];
  const head = '<th>runs</th><th>input tokens</th><th>output tokens</th><th>cost</th>';
  const installations = summary.installations
    .map((i) => tableRow([String(i.installationId), ...totals(i)]))
    .join('\n');
  const repos = summary.repos
    .map((r) => tableRow([r.repo, String(r.installationId), ...totals(r)]))
    .join('\n');
  const total = summary.installations.reduce((sum, i) => sum + i.costUsd, 0);
  return `<h2>Costs this month (${escapeHtml(summary.month)}, ${escapeHtml(usd(total))})</h2>
<table><tr><th>installation</th>${head}</tr>${installations}</table>
<h3>By repository</h3><table><tr><th>repository</th><th>installation</th>${head}</tr>${repos}</table>`;
}

export async function serveDashboard(
  req: IncomingMessage,
  res: ServerResponse,
  taskQueue: TaskQueue,
  token: string | undefined,
  parked?: Queue,
  costs?: { monthSummary(): Promise<MonthSummary> },
): Promise<void> {
  if (!token) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  if (!isOperator(req, token)) {
    res
      .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Basic realm="pullwright"' })
      .end('unauthorized\n');
    return;
  }
  const queue = taskQueue.queue;
  const counts = await queue.getJobCounts(...STATES);
  const sections: string[] = [];
  for (const state of STATES) {
    const jobs = await queue.getJobs([state], 0, 24, false);
    const rows = jobs
      .map((job) => {
        const cells = [
          job.id ?? '',
          job.name,
          new Date(job.timestamp).toISOString(),
          String(job.attemptsMade),
          job.failedReason ?? '',
        ];
        return tableRow(cells);
      })
      .join('\n');
    sections.push(
      `<h2>${state} (${counts[state] ?? 0})</h2><table><tr><th>id</th><th>kind</th><th>added</th><th>attempts</th><th>failure</th></tr>${rows}</table>`,
    );
  }
  const schedulers = await queue.getJobSchedulers(0, 199, true);
  const schedRows = schedulers
    .map(
      (s) =>
        `<tr><td>${escapeHtml(s.key)}</td><td>${escapeHtml(s.pattern ?? '')}</td><td>${escapeHtml(s.tz ?? '')}</td><td>${s.next ? new Date(s.next).toISOString() : ''}</td></tr>`,
    )
    .join('\n');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Pullwright queue</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style>
</head><body><h1>Pullwright queue <small>(${escapeHtml(taskQueue.prefix)})</small></h1>
${costs ? await costsSection(costs) : ''}
${sections.join('\n')}
<h2>Maintenance schedulers (${schedulers.length})</h2><table><tr><th>id</th><th>cron</th><th>tz</th><th>next</th></tr>${schedRows}</table>
${parked ? await parkedSection(parked) : ''}
</body></html>`;
  res
    .writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    })
    .end(html);
}
