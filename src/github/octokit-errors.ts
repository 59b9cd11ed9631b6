import { PullwrightError } from '../errors.js';

interface HttpErrorLike {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

/** Seconds GitHub asks us to wait, from `retry-after` or the rate-limit reset header. */
export function retryAfterSeconds(err: HttpErrorLike, nowMs = Date.now()): number | null {
  const headers = err.response?.headers ?? {};
  const retryAfter = headers['retry-after'];
  if (retryAfter !== undefined && !Number.isNaN(Number(retryAfter))) return Number(retryAfter);
  const reset = headers['x-ratelimit-reset'];
  if (headers['x-ratelimit-remaining'] === '0' && reset !== undefined) {
    return Math.max(0, Number(reset) - Math.floor(nowMs / 1000));
  }
  return null;
}

export function isRateLimit(err: HttpErrorLike): boolean {
  if (err.status === 429) return true;
  if (err.status !== 403) return false;
  return /rate limit/i.test(err.message ?? '') || err.response?.headers?.['x-ratelimit-remaining'] === '0';
}

/** Maps an Octokit error to the project's typed error; callers branch on `code`. */
export function toGitHubError(raw: unknown, what: string): PullwrightError {
  if (raw instanceof PullwrightError) return raw;
  const err = (raw ?? {}) as HttpErrorLike;
  const status = err.status;
  const message = `${what}: ${err.message ?? String(raw)}`;
  if (status === undefined) return new PullwrightError('upstream_unavailable', message, { cause: raw });
  if (isRateLimit(err)) {
    return new PullwrightError('rate_limited', message, {
      cause: raw,
      details: { status, retryAfter: retryAfterSeconds(err) },
    });
  }
  if (status === 401)
    return new PullwrightError('unauthorized', message, { cause: raw, details: { status } });
  if (status === 403) return new PullwrightError('forbidden', message, { cause: raw, details: { status } });
  if (status === 404) return new PullwrightError('not_found', message, { cause: raw, details: { status } });
  if (status === 409) return new PullwrightError('conflict', message, { cause: raw, details: { status } });
  if (status === 422) {
    const code = /already exists/i.test(JSON.stringify(err.response?.data ?? err.message))
      ? 'conflict'
      : 'input_invalid';
    return new PullwrightError(code, message, { cause: raw, details: { status } });
  }
  if (status >= 500)
    return new PullwrightError('upstream_unavailable', message, { cause: raw, details: { status } });
  return new PullwrightError('internal', message, { cause: raw, details: { status } });
}

/** Runs one GitHub call and maps its failure to the project's typed error. */
export async function callGitHub<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toGitHubError(err, what);
  }
}

/** Like `callGitHub`, but a 404 is an answer (`absent`), not an error. */
export async function callGitHubOr<T, A>(what: string, absent: A, fn: () => Promise<T>): Promise<T | A> {
  try {
    return await fn();
  } catch (err) {
    const e = toGitHubError(err, what);
    if (e.code === 'not_found') return absent;
    throw e;
  }
}
