import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { PullwrightError } from '../errors.js';

/**
 * A bare keep-alive JSON POST for the app's fire-and-forget writes (👀
 * reactions): one per trigger, so Octokit's fetch pipeline per call is worth
 * skipping. The token goes only into the Authorization header, never the URL.
 */
const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 16 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 16 });

export function postJson(
  baseUrl: string,
  path: string,
  token: string,
  body: unknown,
  timeoutMs = 10_000,
): Promise<number> {
  const url = new URL(baseUrl.replace(/\/$/, '') + path);
  const secure = url.protocol === 'https:';
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        agent: secure ? httpsAgent : httpAgent,
        timeout: timeoutMs,
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `token ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          'user-agent': 'pullwright-app',
          'x-github-api-version': '2022-11-28',
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(status);
          else
            reject(
              new PullwrightError(
                status === 404 ? 'not_found' : 'upstream_unavailable',
                `POST ${path}: ${status}`,
                {
                  details: { status },
                },
              ),
            );
        });
      },
    );
    req.on('timeout', () => req.destroy(new PullwrightError('timeout', `POST ${path}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}
