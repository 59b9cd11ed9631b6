import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A webhook relay channel on loopback speaking smee.io's protocol: `POST /<channel>` takes a delivery,
 * and every `GET /<channel>` subscriber (server-sent events) receives it as one `message` whose data
 * is the delivery's headers plus `body` (the parsed JSON) and `query`, as smee.io sends it.
 */
export interface RelayChannel {
  url: string;
  /** Deliveries posted so far. */
  posted: number;
  close(): Promise<void>;
}

export async function startRelayChannel(channel = 'test-channel'): Promise<RelayChannel> {
  const subscribers = new Set<ServerResponse>();
  const relay = { posted: 0 };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://relay.invalid');
    if (url.pathname !== `/${channel}`) {
      res.writeHead(404).end();
      return;
    }
    if (req.method === 'GET') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      res.write('event: ready\ndata: {}\n\n');
      subscribers.add(res);
      req.on('close', () => subscribers.delete(res));
      return;
    }
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          res.writeHead(400).end();
          return;
        }
        const data: Record<string, unknown> = {
          ...req.headers,
          body,
          query: Object.fromEntries(url.searchParams),
          timestamp: Date.now(),
        };
        for (const s of subscribers) s.write(`id: ${Date.now()}\ndata: ${JSON.stringify(data)}\n\n`);
        relay.posted += 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
      return;
    }
    res.writeHead(405).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${channel}`;
  return {
    url,
    get posted() {
      return relay.posted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of subscribers) s.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
