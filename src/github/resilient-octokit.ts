import { Octokit } from '@octokit/rest';
import type { Logger } from '../logger.js';
import { isRateLimit, retryAfterSeconds } from './octokit-errors.js';

/**
 * An Octokit that survives GitHub's bad moments: 5xx and network errors are
 * retried with exponential backoff; 429 and secondary rate limits (403) wait
 * for `retry-after`. Bounded in attempts and in total wait, so a job fails
 * clearly instead of hanging. Written as a request hook rather than the
 * throttling plugin, whose fixed one-second spacing of writes would slow every
 * tracking-comment edit.
 */
export interface ResilienceOptions {
  maxAttempts?: number;
  baseDelayMs?: number;
  maxWaitMs?: number;
  /** Only requests with these methods are retried (all when absent). */
  methods?: readonly string[];
  log?: Logger;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Installs the retry hook on an existing client (one with its own auth strategy, say). */
export function addResilience<T extends Octokit>(octokit: T, options: ResilienceOptions = {}): T {
  const maxAttempts = options.maxAttempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 250;
  const maxWaitMs = options.maxWaitMs ?? 60_000;
  const methods = options.methods ? new Set(options.methods.map((m) => m.toUpperCase())) : null;
  octokit.hook.wrap('request', async (request, requestOptions) => {
    if (methods && !methods.has(String(requestOptions.method).toUpperCase())) {
      return request(requestOptions);
    }
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await request(requestOptions);
      } catch (raw) {
        const err = raw as {
          status?: number;
          message?: string;
          response?: { headers?: Record<string, string> };
        };
        const transient = err.status === undefined || err.status >= 500 || isRateLimit(err);
        if (!transient || attempt >= maxAttempts) throw raw;
        const hinted = retryAfterSeconds(err);
        const delay =
          hinted !== null
            ? hinted * 1000
            : Math.min(8_000, baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        if (waited + delay > maxWaitMs) throw raw;
        waited += delay;
        options.log?.warn(
          { status: err.status, attempt, delayMs: Math.round(delay), route: requestOptions.url },
          'GitHub request retried',
        );
        await sleep(delay);
      }
    }
  });
  return octokit;
}

export function createResilientOctokit(
  options: { auth?: string; baseUrl: string; userAgent?: string } & ResilienceOptions,
): Octokit {
  const octokit = new Octokit({
    auth: options.auth,
    baseUrl: options.baseUrl,
    userAgent: options.userAgent ?? 'pullwright',
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  return addResilience(octokit, options);
}
