import { z } from 'zod';
import { PullwrightError } from '../errors.js';

/**
 * The last step of the manifest flow: the one-time code GitHub handed back is exchanged for the new
 * app's credentials (`POST /app-manifests/{code}/conversions`, no authentication: the code is the
 * credential, valid once and for one hour). There is no app identity yet, so this is a plain HTTPS
 * call rather than an Octokit client of src/github.
 */

export const AppRegistration = z.object({
  id: z.number().int().positive(),
  slug: z.string().min(1),
  name: z.string(),
  html_url: z.string(),
  owner: z.object({ login: z.string() }).nullable().optional(),
  pem: z.string().includes('PRIVATE KEY'),
  webhook_secret: z.string().min(8).nullable(),
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
});
export type AppRegistration = z.infer<typeof AppRegistration>;

export async function convertAppManifest(
  apiUrl: string,
  code: string,
  signal?: AbortSignal,
): Promise<AppRegistration> {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(code))
    throw new PullwrightError('input_invalid', 'The code GitHub returned is malformed', { retryable: false });
  const url = `${apiUrl.replace(/\/+$/, '')}/app-manifests/${encodeURIComponent(code)}/conversions`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        'user-agent': 'pullwright-setup',
      },
      signal: signal ?? AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new PullwrightError(
      'upstream_unavailable',
      `Cannot reach ${apiUrl}: ${err instanceof Error ? err.message : String(err)}`,
      {
        retryable: true,
        cause: err,
      },
    );
  }
  const body: unknown = await res.json().catch(() => null);
  if (res.status === 404 || res.status === 422)
    throw new PullwrightError(
      'not_found',
      'GitHub did not accept the code: it is used, expired (one hour) or from another host. Start again from the setup page.',
      {
        retryable: false,
      },
    );
  if (res.status !== 201)
    throw new PullwrightError(
      'upstream_unavailable',
      `GitHub answered ${res.status} to the manifest conversion`,
      { retryable: res.status >= 500 },
    );
  const parsed = AppRegistration.safeParse(body);
  if (!parsed.success)
    throw new PullwrightError(
      'upstream_unavailable',
      `Unexpected manifest conversion answer: ${parsed.error.issues[0]?.message}`,
      { retryable: false },
    );
  return parsed.data;
}
