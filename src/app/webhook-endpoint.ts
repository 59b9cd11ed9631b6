import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.js';

/**
 * The part of Probot's `webhooks` the endpoint uses: it checks
 * `X-Hub-Signature-256` over the payload, parses it, and runs the app's
 * handlers (`@octokit/webhooks`' `verifyAndReceive`).
 */
export interface WebhookReceiver {
  verifyAndReceive(event: { id: string; name: string; payload: string; signature: string }): Promise<void>;
  /** The signature check alone (needed with `isReplay`, which must only see signed bodies). */
  verify?(payload: string, signature: string): Promise<boolean>;
}

export interface WebhookEndpointOptions {
  webhooks: WebhookReceiver;
  /** Larger bodies get 413 before they are read in full. */
  maxBytes: number;
  /**
   * All requests together may hold at most this many body bytes until they are
   * answered; past it a request gets 503 and its connection is closed. Threat:
   * anyone who can reach the port opening a few hundred connections that each
   * stream up to `maxBytes` (no signature is checked before the body is read).
   * Default: four times `maxBytes`.
   */
  maxInFlightBytes?: number;
  /**
   * Called once a delivery's signature is checked, with that signature (an HMAC of
   * the body, so it names the signed body): true when the same signed body already
   * came under another delivery id, and the delivery is then answered 200 without
   * running any handler. Threat: the delivery id header is not signed, so a captured
   * delivery could otherwise be replayed under fresh ids to start or stop runs again.
   */
  isReplay?: (delivery: { id: string; name: string; signature: string }) => Promise<boolean>;
  /**
   * Past this, GitHub is answered 202 while the handlers finish: GitHub gives a
   * delivery 10 s and then records it as failed.
   */
  timeoutMs: number;
  log: Logger;
}

export type WebhookEndpoint = (req: IncomingMessage, res: ServerResponse) => Promise<number>;

const JSON_CONTENT_TYPE = /^\s*application\/json\s*(?:;|$)/i;
const REQUIRED_HEADERS = ['x-github-event', 'x-hub-signature-256', 'x-github-delivery'] as const;

class BodyTooLarge extends Error {}
class BudgetExhausted extends Error {}

/** The body bytes held by every request still being read or handled, against one cap. */
interface ByteBudget {
  used: number;
  readonly max: number;
}

/**
 * Reads the body, refusing it once it passes `maxBytes` (a chunked request has
 * no length to check up front) or once all requests together would hold more than
 * the budget. `held.bytes` is what this request took from the budget, given back by
 * the caller when it is done. One chunk, the usual case, is used as is.
 */
function readBody(
  req: IncomingMessage,
  maxBytes: number,
  budget: ByteBudget,
  held: { bytes: number },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes || budget.used + chunk.length > budget.max) {
        req.removeAllListeners('data');
        reject(size > maxBytes ? new BodyTooLarge() : new BudgetExhausted());
        return;
      }
      budget.used += chunk.length;
      held.bytes += chunk.length;
      chunks.push(chunk);
    });
    req.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    // Also how a sender that hangs up mid-body surfaces ('aborted'), so nothing is left pending.
    req.once('error', reject);
  });
}

/** Whether the first byte that is not JSON whitespace opens an object. */
function startsWithObject(body: Buffer): boolean {
  for (const byte of body) {
    if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
    return byte === 0x7b;
  }
  return false;
}

function answer(res: ServerResponse, status: number, body: string, contentType = 'application/json'): number {
  if (!res.headersSent) {
    res
      .writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) })
      .end(body);
  }
  return status;
}

const error = (message: string) => JSON.stringify({ error: message });

/** `verifyAndReceive` rejects with an AggregateError of the handlers' errors; the first one speaks. */
function firstError(err: unknown): (Error & { status?: unknown }) | undefined {
  return (err instanceof AggregateError ? err.errors[0] : err) as (Error & { status?: unknown }) | undefined;
}

/** The status a failed `verifyAndReceive` maps to: a bad signature or bad JSON is 400. */
function statusOf(first: { status?: unknown } | undefined): number {
  const status = first?.status;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

/** 413, and the connection closed instead of draining up to 25 MB of junk. */
function refuseTooLarge(req: IncomingMessage, res: ServerResponse): number {
  res.setHeader('connection', 'close');
  answer(res, 413, error('Payload too large'));
  req.destroy();
  return 413;
}

/** 503: every request together already holds the byte budget; closed rather than drained. */
function refuseBusy(req: IncomingMessage, res: ServerResponse): number {
  res.setHeader('connection', 'close');
  res.setHeader('retry-after', '5');
  answer(res, 503, error('Too many webhook bytes in flight'));
  req.destroy();
  return 503;
}

/**
 * The webhook route: HTTP in, Probot's `verifyAndReceive` (signature check,
 * JSON parse, the app's handlers), HTTP out. Resolves to the status sent.
 *
 * Why not Probot's own Node middleware: it answers the same way, but per
 * delivery it also parses a URL, races a timeout promise, and decodes the body
 * through a copy; on a busy intake that framework plumbing cost about as much
 * as the app's own handling. The signature check itself stays Probot's.
 */
export function createWebhookEndpoint(options: WebhookEndpointOptions): WebhookEndpoint {
  const { webhooks, maxBytes, timeoutMs, log, isReplay } = options;
  if (isReplay && !webhooks.verify) throw new Error('isReplay needs a receiver that can verify signatures');
  const budget: ByteBudget = { used: 0, max: options.maxInFlightBytes ?? 4 * maxBytes };

  return async (req, res) => {
    const held = { bytes: 0 };
    try {
      return await handle(req, res, held);
    } finally {
      budget.used -= held.bytes;
    }
  };

  async function handle(req: IncomingMessage, res: ServerResponse, held: { bytes: number }): Promise<number> {
    if (req.method !== 'POST') return answer(res, 404, error(`Unknown route: ${req.method}`));
    const contentType = req.headers['content-type'];
    if (typeof contentType !== 'string' || !JSON_CONTENT_TYPE.test(contentType)) {
      return answer(res, 415, error('Unsupported "Content-Type" header value. Must be "application/json"'));
    }
    const missing = REQUIRED_HEADERS.filter((name) => typeof req.headers[name] !== 'string');
    if (missing.length > 0) return answer(res, 400, error(`Required headers missing: ${missing.join(', ')}`));
    // Announced too large, or more than the budget has left: refused before any of it is read.
    const announced = Number(req.headers['content-length'] ?? 0);
    if (announced > maxBytes) return refuseTooLarge(req, res);
    if (budget.used + announced > budget.max) return refuseBusy(req, res);

    let body: Buffer;
    try {
      body = await readBody(req, maxBytes, budget, held);
    } catch (err) {
      if (err instanceof BodyTooLarge) return refuseTooLarge(req, res);
      if (err instanceof BudgetExhausted) {
        log.warn(
          { inFlightBytes: budget.used, maxInFlightBytes: budget.max },
          'Webhook refused: byte budget spent',
        );
        return refuseBusy(req, res);
      }
      // The sender hung up mid-body: nobody is left to answer, and nothing was received.
      log.debug({ reason: (err as Error).message }, 'Webhook sender hung up before the body was complete');
      req.destroy();
      return 400;
    }

    // GitHub only sends objects; anything else (`null`, `5`, an array) would reach the
    // handlers' dispatch and fail there as a 500. Refused whether signed or not, so the
    // answer says nothing about the secret.
    if (!startsWithObject(body)) return answer(res, 400, error('Payload must be a JSON object'));

    const id = req.headers['x-github-delivery'] as string;
    const name = req.headers['x-github-event'] as string;
    const payload = body.toString('utf8');
    const signature = req.headers['x-hub-signature-256'] as string;
    // A plain timer, not a race of promises: it fires only for a slow delivery.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      log.warn({ deliveryId: id, event: name, timeoutMs }, 'Webhook still processing: answered 202');
      answer(res, 202, 'still processing\n', 'text/plain');
    }, timeoutMs);
    try {
      // Only a signed body may leave a mark (an unsigned one could fill Redis); an unsigned
      // one goes on to verifyAndReceive, which refuses it as before.
      if (isReplay && (await webhooks.verify?.(payload, signature).catch(() => false))) {
        if (await isReplay({ id, name, signature })) {
          clearTimeout(timer);
          log.info({ deliveryId: id, event: name }, 'Signed body already received under another delivery id');
          return timedOut ? 202 : answer(res, 200, 'ok\n', 'text/plain');
        }
      }
      await webhooks.verifyAndReceive({ id, name, payload, signature });
      clearTimeout(timer);
      return timedOut ? 202 : answer(res, 200, 'ok\n', 'text/plain');
    } catch (err) {
      clearTimeout(timer);
      const first = firstError(err);
      const status = statusOf(first);
      if (status >= 500) log.error({ err: first, deliveryId: id, event: name }, 'Webhook handler failed');
      else log.warn({ deliveryId: id, event: name, status, reason: first?.message }, 'Webhook rejected');
      // A 4xx says what was wrong with the request; a 5xx does not describe our internals.
      const message = status < 500 && first?.message ? first.message : 'Internal error';
      return timedOut ? 202 : answer(res, status, error(message));
    }
  }
}
