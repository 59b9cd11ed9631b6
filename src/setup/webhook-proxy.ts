import type { Logger } from 'pino';
import { SmeeClient } from 'smee-client';

/**
 * WEBHOOK_PROXY_URL, the way Probot apps do it: subscribe to a webhook relay channel (smee.io or
 * any server speaking its protocol: server-sent events whose data is the delivery's headers plus
 * `body`) and re-post each delivery to this app's webhook route. The app still verifies every
 * signature, so whoever else can post to the channel cannot forge a delivery.
 */

export interface WebhookProxy {
  stop(): Promise<void>;
}

export async function startWebhookProxy(options: {
  source: string;
  /** This app's webhook route, e.g. http://127.0.0.1:3000/api/github/webhooks. */
  target: string;
  log: Logger;
  /** How long to wait for the channel to connect at start (default 15 s). */
  connectTimeoutMs?: number;
}): Promise<WebhookProxy> {
  const { log } = options;
  // The channel URL is its only secret (whoever has it can read every delivery): keep it out of logs.
  const channel = `${new URL(options.source).origin}/…`;
  const text = (args: unknown[]) => args.map(String).join(' ').split(options.source).join(channel);
  const client = new SmeeClient({
    source: options.source,
    target: options.target,
    maxConnectionTimeout: options.connectTimeoutMs ?? 15_000,
    // smee-client logs sentences such as "POST <url> - 200"; keep them as data of one static message.
    logger: {
      info: (...args: unknown[]) => log.info({ relay: text(args) }, 'Webhook relay'),
      error: (...args: unknown[]) => log.warn({ relay: text(args) }, 'Webhook relay problem'),
    },
  });
  await client.start();
  log.info(
    { source: new URL(options.source).origin, target: options.target },
    'Forwarding webhooks from the relay channel',
  );
  return { stop: () => client.stop() };
}
