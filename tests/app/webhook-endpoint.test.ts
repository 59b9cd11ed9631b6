import { generateKeyPairSync } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { Probot } from 'probot';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWebhookEndpoint } from '../../src/app/webhook-endpoint.js';
import { createSilentLogger } from '../../src/logger.js';
import { postDelivery, sign } from './webhook-fixtures.js';

const SECRET = 'endpoint-test-secret';
const MAX_BYTES = 64 * 1024;
const TIMEOUT_MS = 300;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

interface Seen {
  id: string;
  name: string;
  payload: unknown;
}

/** Sends a body in the given pieces with chunked encoding (no content-length). */
function postChunked(
  url: string,
  pieces: Buffer[],
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    // The server may answer and close before the whole oversized body is written.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    for (const piece of pieces) req.write(piece);
    req.end();
  });
}

/** A real Probot whose only handler, for `issue_comment`, is `onComment`. */
async function startProbot(
  onComment: (context: { id: string; name: string; payload: unknown }) => Promise<void>,
) {
  const probot = new Probot({
    appId: 1,
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    secret: SECRET,
    baseUrl: 'http://127.0.0.1:9',
    log: createSilentLogger(),
  });
  await probot.load((app) => {
    app.on('issue_comment', onComment);
  });
  await probot.ready();
  return probot;
}

describe('webhook endpoint (real HTTP, real Probot verifyAndReceive)', () => {
  let server: Server;
  let url: string;
  const seen: Seen[] = [];
  /** What the endpoint resolved to, per request: it must settle even when nobody is left to answer. */
  const statuses: number[] = [];
  let behaviour: 'ok' | 'throw' | 'slow' = 'ok';
  let slowFinished = false;

  beforeAll(async () => {
    const log = createSilentLogger();
    const probot = await startProbot(async (context) => {
      if (behaviour === 'throw') throw new Error('secret internal detail: redis at 10.0.0.7');
      if (behaviour === 'slow') {
        await new Promise((r) => setTimeout(r, TIMEOUT_MS * 3));
        slowFinished = true;
      }
      seen.push({ id: context.id, name: context.name, payload: context.payload });
    });
    const endpoint = createWebhookEndpoint({
      webhooks: probot.webhooks,
      maxBytes: MAX_BYTES,
      timeoutMs: TIMEOUT_MS,
      log,
    });
    server = createServer((req, res) => {
      void endpoint(req, res).then((status) => statuses.push(status));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  beforeEach(() => {
    seen.length = 0;
    statuses.length = 0;
    behaviour = 'ok';
    slowFinished = false;
  });

  const comment = { action: 'created', issue: { number: 1 }, comment: { id: 2, body: 'héllo 👀' } };

  it('hands a signed delivery to the handlers and answers 200', async () => {
    const result = await postDelivery(url, 'issue_comment', comment, { secret: SECRET, deliveryId: 'd-1' });
    expect(result).toEqual({ status: 200, text: 'ok\n' });
    expect(seen).toEqual([{ id: 'd-1', name: 'issue_comment', payload: comment }]);
  });

  it('checks the signature over the bytes, even when a character is split across chunks', async () => {
    const body = Buffer.from(JSON.stringify(comment));
    const cut = body.indexOf(Buffer.from('👀')) + 2; // inside the 4-byte emoji
    const result = await postChunked(url, [body.subarray(0, cut), body.subarray(cut)], {
      'content-type': 'application/json',
      'x-github-event': 'issue_comment',
      'x-github-delivery': 'd-split',
      'x-hub-signature-256': sign(SECRET, body.toString()),
    });
    expect(result.status).toBe(200);
    expect(seen.map((s) => s.payload)).toEqual([comment]);
  });

  it('refuses a bad or missing signature with 400 and runs no handler', async () => {
    const bad = await postDelivery(url, 'issue_comment', comment, { secret: SECRET, signature: 'sha256=00' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error).toMatch(/signature does not match/);
    const forged = await postDelivery(url, 'issue_comment', comment, { secret: 'not-the-secret' });
    expect(forged.status).toBe(400);
    const missing = await postDelivery(url, 'issue_comment', comment, { secret: SECRET, signature: null });
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.text).error).toBe('Required headers missing: x-hub-signature-256');
    expect(seen).toEqual([]);
  });

  it('answers 400 to signed bytes that are not JSON', async () => {
    const result = await postDelivery(url, 'issue_comment', '{"action": "created", "issue": {', {
      secret: SECRET,
    });
    expect(result.status).toBe(400);
    expect(JSON.parse(result.text).error).toMatch(/Invalid JSON/);
    expect(seen).toEqual([]);
  });

  it('answers 400 to a signed payload that is not a JSON object', async () => {
    for (const payload of ['null', '5', '[1, 2]', '"text"', '', '  \n ']) {
      const result = await postDelivery(url, 'issue_comment', payload, { secret: SECRET });
      expect(result.status, JSON.stringify(payload)).toBe(400);
    }
    const padded = await postDelivery(url, 'issue_comment', `\n  ${JSON.stringify(comment)}`, {
      secret: SECRET,
    });
    expect(padded.status).toBe(200);
    expect(seen.map((s) => s.payload)).toEqual([comment]);
  });

  it('answers 404 to other methods and 415 to other content types', async () => {
    expect((await fetch(url)).status).toBe(404);
    const form = await postDelivery(url, 'issue_comment', comment, {
      secret: SECRET,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    expect(seen).toEqual([]);
  });

  it('refuses an oversized body with 413, whether it is announced or streamed', async () => {
    const big = JSON.stringify({ ...comment, padding: 'x'.repeat(MAX_BYTES) });
    const announced = await postDelivery(url, 'issue_comment', big, { secret: SECRET });
    expect(announced.status).toBe(413);
    const piece = Buffer.alloc(16 * 1024, 'x');
    const streamed = await postChunked(
      url,
      Array.from({ length: 8 }, () => piece),
      {
        'content-type': 'application/json',
        'x-github-event': 'issue_comment',
        'x-github-delivery': 'd-big',
        'x-hub-signature-256': sign(SECRET, 'whatever'),
      },
    );
    expect(streamed.status).toBe(413);
    expect(seen).toEqual([]);
    // The server is still fine afterwards.
    expect((await postDelivery(url, 'issue_comment', comment, { secret: SECRET })).status).toBe(200);
  });

  it('answers 500 when a handler fails, without describing the failure', async () => {
    behaviour = 'throw';
    const result = await postDelivery(url, 'issue_comment', comment, { secret: SECRET });
    expect(result.status).toBe(500);
    expect(result.text).not.toMatch(/secret internal detail|10\.0\.0\.7/);
  });

  it('answers 202 when the handlers outlast the timeout, and lets them finish', async () => {
    behaviour = 'slow';
    const result = await postDelivery(url, 'issue_comment', comment, {
      secret: SECRET,
      deliveryId: 'd-slow',
    });
    expect(result).toEqual({ status: 202, text: 'still processing\n' });
    expect(slowFinished).toBe(false);
    await expect.poll(() => slowFinished, { timeout: TIMEOUT_MS * 10 }).toBe(true);
    expect(seen.map((s) => s.id)).toEqual(['d-slow']);
  });

  it('settles when the sender hangs up halfway through the body', async () => {
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      'POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-github-event: issue_comment\r\n' +
        `x-github-delivery: d-gone\r\nx-hub-signature-256: ${sign(SECRET, '{}')}\r\ncontent-length: 1000\r\n\r\n{"act`,
    );
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    await expect.poll(() => statuses, { timeout: 2_000 }).toEqual([400]);
    expect(seen).toEqual([]);
  });
});

// Issue 14 item 9: each unauthenticated request could hold up to maxBytes, with no cap over
// all of them, so a few hundred connections could take the app's memory.
describe('webhook endpoint limits over all requests', () => {
  const LIMITED_MAX = 64 * 1024;
  let server: Server;
  let url: string;
  const seen: string[] = [];
  const replayChecks: string[] = [];
  const claimed = new Map<string, string>();

  beforeAll(async () => {
    const log = createSilentLogger();
    const probot = await startProbot(async (context) => {
      seen.push(context.id);
    });
    const endpoint = createWebhookEndpoint({
      webhooks: probot.webhooks,
      maxBytes: LIMITED_MAX,
      maxInFlightBytes: 100 * 1024,
      timeoutMs: 5_000,
      // In memory here; the app's is claimSignedBody in Redis (covered in app-server.test.ts).
      isReplay: async ({ id, signature }) => {
        replayChecks.push(id);
        const owner = claimed.get(signature) ?? id;
        claimed.set(signature, owner);
        return owner !== id;
      },
      log,
    });
    server = createServer((req, res) => void endpoint(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const signedBody = (n: number) => {
    const body = Buffer.from(JSON.stringify({ action: 'created', n, padding: 'x'.repeat(60 * 1024) }));
    const headers = (deliveryId: string) => ({
      'content-type': 'application/json',
      'x-github-event': 'issue_comment',
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': sign(SECRET, body.toString()),
    });
    return { body, headers };
  };

  it('refuses with 503 what would pass the in-flight byte budget, and recovers once bytes are freed', async () => {
    const a = signedBody(1);
    // A sender that streams most of its body and then waits, holding its bytes.
    let answerA: (v: { status: number }) => void = () => {};
    const answeredA = new Promise<{ status: number }>((resolve) => {
      answerA = resolve;
    });
    const slow = request(url, { method: 'POST', headers: a.headers('d-slow') }, (res) => {
      res.resume();
      res.on('end', () => answerA({ status: res.statusCode ?? 0 }));
    });
    slow.write(a.body.subarray(0, 50 * 1024));
    await new Promise((r) => setTimeout(r, 200));

    const b = signedBody(2);
    const streamed = await postChunked(url, [b.body], b.headers('d-b'));
    expect(streamed.status).toBe(503);
    const announced = await postDelivery(url, 'issue_comment', b.body.toString(), {
      secret: SECRET,
      deliveryId: 'd-b2',
    });
    expect(announced.status).toBe(503);
    expect(seen).toEqual([]);

    slow.end(a.body.subarray(50 * 1024));
    expect((await answeredA).status).toBe(200);
    // Every byte is given back, whatever the answer was.
    const c = signedBody(3);
    expect((await postChunked(url, [c.body], c.headers('d-c'))).status).toBe(200);
    expect(seen).toEqual(['d-slow', 'd-c']);
  });

  it('answers a signed body seen under another delivery id without running a handler, and never records unsigned ones', async () => {
    seen.length = 0;
    replayChecks.length = 0;
    const payload = { action: 'created', issue: { number: 9 } };
    expect(
      (await postDelivery(url, 'issue_comment', payload, { secret: SECRET, deliveryId: 'r-1' })).status,
    ).toBe(200);
    expect(
      (await postDelivery(url, 'issue_comment', payload, { secret: SECRET, deliveryId: 'r-2' })).status,
    ).toBe(200);
    // The same id again is GitHub redelivering it: the handlers run and dedupe on their own.
    expect(
      (await postDelivery(url, 'issue_comment', payload, { secret: SECRET, deliveryId: 'r-1' })).status,
    ).toBe(200);
    expect(seen).toEqual(['r-1', 'r-1']);
    const forged = await postDelivery(url, 'issue_comment', payload, { secret: 'wrong', deliveryId: 'r-3' });
    expect(forged.status).toBe(400);
    expect(replayChecks).toEqual(['r-1', 'r-2', 'r-1']);
  });
});
