import type { Octokit } from '@octokit/rest';
import type { RepoRef } from '../domain/task.js';
import { PullwrightError } from '../errors.js';
import type { JobLog } from './ci-data.js';
import { callGitHubOr } from './octokit-errors.js';

export const DEFAULT_JOB_LOG_BYTES = 64 * 1024;

/**
 * Keeps the first and last `maxBytes / 2` of a byte stream without holding the rest: a CI log can be
 * hundreds of megabytes (whatever the code printed), and the end, where the error usually is, matters
 * most. Memory stays O(maxBytes) whatever the size.
 */
export class HeadTailBuffer {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer = Buffer.alloc(0);
  total = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const headCap = Math.ceil(this.maxBytes / 2);
    if (this.headBytes < headCap) {
      const take = chunk.subarray(0, headCap - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
      chunk = chunk.subarray(take.length);
    }
    if (chunk.length === 0) return;
    const tailCap = this.maxBytes - headCap;
    this.tail = Buffer.concat([this.tail, chunk]);
    if (this.tail.length > tailCap) this.tail = this.tail.subarray(this.tail.length - tailCap);
  }

  result(): JobLog {
    const head = Buffer.concat(this.head);
    const truncated = this.total > this.maxBytes;
    if (!truncated)
      return { text: Buffer.concat([head, this.tail]).toString('utf8'), truncated, totalBytes: this.total };
    const omitted = this.total - head.length - this.tail.length;
    // A cut can split a UTF-8 sequence: decoding replaces the broken bytes, which is fine for a log.
    const text = `${head.toString('utf8')}\n[… ${omitted} bytes omitted …]\n${this.tail.toString('utf8')}`;
    return { text, truncated, totalBytes: this.total };
  }
}

/**
 * A job's log. GitHub answers `302 Location: <short-lived signed URL>`; the redirect is followed here by
 * hand, without the Authorization header: the URL is its own credential, and the installation token
 * must never travel to the storage host. Read as a stream and capped.
 */
export async function downloadJobLog(
  octokit: Octokit,
  repo: RepoRef,
  jobId: number,
  maxBytes = DEFAULT_JOB_LOG_BYTES,
): Promise<JobLog | null> {
  const location = await callGitHubOr('Locating a job log', null, async () => {
    const res = await octokit.request('GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs', {
      owner: repo.owner,
      repo: repo.name,
      job_id: jobId,
      request: { redirect: 'manual' },
    });
    const url = (res.headers as Record<string, string | undefined>).location;
    if (!url) throw new PullwrightError('upstream_unavailable', 'The job log answer had no location');
    return url;
  });
  if (location === null) return null;
  let res: Response;
  try {
    res = await fetch(location, { redirect: 'follow', signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    throw new PullwrightError('upstream_unavailable', 'Downloading a job log failed', { cause: err });
  }
  // An expired or deleted log (GitHub keeps them 90 days by default) is an answer, not an error.
  if (res.status === 404 || res.status === 410) return null;
  if (!res.ok || !res.body) {
    throw new PullwrightError('upstream_unavailable', `Downloading a job log answered ${res.status}`, {
      details: { status: res.status },
    });
  }
  const buffer = new HeadTailBuffer(maxBytes);
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) buffer.push(Buffer.from(chunk));
  return buffer.result();
}
