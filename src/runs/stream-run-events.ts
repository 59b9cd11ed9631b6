import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import { renderPlan, renderTimeline } from './render-run-event.js';
import { renderFacts } from './render-run-page.js';
import type { RunStore } from './run-store.js';

/**
 * Server-sent events for one open run page: entries after the page's last one,
 * as the same escaped HTML fragments the page was rendered with. One blocking
 * Redis read per viewer (its own connection, closed with the page); access is
 * checked again between reads, so a session signed out or access revoked on
 * GitHub stops the stream within the access cache's lifetime.
 */
const BLOCK_MS = 10_000;
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
const RECHECK_MS = 5_000;

export async function streamRunEvents(options: {
  req: IncomingMessage;
  res: ServerResponse;
  store: RunStore;
  reader: Redis;
  runId: string;
  after: string;
  stillAllowed: () => Promise<boolean>;
  headers: Record<string, string>;
}): Promise<void> {
  const { res, store, reader, runId } = options;
  let after = STREAM_ID.test(options.after) ? options.after : '0-0';
  let closed = false;
  options.req.on('close', () => {
    closed = true;
    reader.disconnect();
  });
  res.writeHead(200, {
    ...options.headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  });
  res.write('retry: 3000\n\n');
  const send = (event: string, data: unknown) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  let lastSeq = -1;
  let lastCheck = performance.now();
  try {
    while (!closed) {
      // Access again every few seconds, before waiting: a check never sits between a line and the page.
      if (performance.now() - lastCheck > RECHECK_MS) {
        lastCheck = performance.now();
        if (!(await options.stillAllowed())) break;
      }
      const entries = await store.readLive(reader, runId, after, BLOCK_MS).catch(() => null);
      if (closed) break;
      if (entries === null) break;
      if (entries.length === 0) {
        const meta = await store.getMeta(runId);
        if (!meta || meta.state === 'finished') {
          send('end', {});
          break;
        }
        res.write(': keep-alive\n\n');
        continue;
      }
      const meta = await store.getMeta(runId);
      for (const { streamId, event } of entries) {
        after = streamId;
        const html = renderTimeline([event], runId, lastSeq < 0 ? event.seq - 1 : lastSeq).value;
        lastSeq = event.seq;
        send('entry', {
          seq: event.seq,
          html,
          ...(event.t === 'plan' ? { plan: renderPlan(event.items).value } : {}),
          ...(meta ? { facts: renderFacts(meta).value } : {}),
        });
        if (event.t === 'outcome') {
          send('end', {});
          closed = true;
          break;
        }
      }
    }
  } finally {
    reader.disconnect();
    res.end();
  }
}
