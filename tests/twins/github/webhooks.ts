import { createHmac, randomUUID } from 'node:crypto';
import { PullwrightError } from '../../../src/errors.js';
import type { Delivery } from './types.js';

const USER_AGENT = 'GitHub-Hookshot/twin';

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Sends and records webhook deliveries, signed with the app's webhook secret. */
export class Deliverer {
  readonly log: Delivery[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  url: string | null;

  constructor(
    private secret: string,
    url: string | null,
    private appId: number,
  ) {
    this.url = url;
  }

  /** Signs and addresses later deliveries as another app (TwinCore.adoptApp). */
  adopt(app: { secret: string; appId: number; url: string | null }): void {
    this.secret = app.secret;
    this.appId = app.appId;
    this.url = app.url;
  }

  async deliver(
    event: string,
    payload: Record<string, unknown>,
    installationId: number | null,
  ): Promise<Delivery> {
    const body = JSON.stringify(payload);
    const delivery: Delivery = {
      id: randomUUID(),
      event,
      action: typeof payload.action === 'string' ? payload.action : null,
      installationId,
      body,
      signature: signBody(this.secret, body),
      url: this.url,
      status: null,
      responseBody: '',
      error: null,
      redelivery: false,
      at: new Date().toISOString(),
    };
    this.log.push(delivery);
    await this.track(this.send(delivery));
    return delivery;
  }

  /** Re-sends the identical body with the same delivery id, as GitHub's "Redeliver" does. */
  async redeliver(id: string): Promise<Delivery> {
    const original = this.log.find((d) => d.id === id);
    if (!original) throw new PullwrightError('not_found', `Unknown delivery ${id}`);
    const copy: Delivery = {
      ...original,
      url: this.url,
      status: null,
      responseBody: '',
      error: null,
      redelivery: true,
      at: new Date().toISOString(),
    };
    this.log.push(copy);
    await this.track(this.send(copy));
    return copy;
  }

  /** Resolves when every delivery started so far has finished. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    try {
      return await p;
    } finally {
      this.inFlight.delete(p);
    }
  }

  private async send(d: Delivery): Promise<void> {
    if (!d.url) {
      d.error = 'no webhook url';
      return;
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'x-github-event': d.event,
      'x-github-delivery': d.id,
      'x-hub-signature-256': d.signature,
      'x-github-hook-id': '1',
      'x-github-hook-installation-target-type': 'integration',
      'x-github-hook-installation-target-id': String(this.appId),
    };
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers,
        body: d.body,
        signal: AbortSignal.timeout(10_000),
      });
      d.status = res.status;
      d.responseBody = await res.text();
    } catch (err) {
      d.error = err instanceof Error ? err.message : String(err);
    }
  }
}
