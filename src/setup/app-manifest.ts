import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { PullwrightError } from '../errors.js';

/**
 * The GitHub App manifest the setup page registers: app.yml (permissions, events, name) with the
 * URLs of this deployment filled in
 * (https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest).
 */

const AppYml = z.looseObject({
  name: z.string().min(1).default('Pullwright'),
  description: z.string().optional(),
  url: z.url().default('https://github.com/pullwright/pullwright'),
  public: z.boolean().default(false),
  hook_attributes: z.looseObject({ active: z.boolean().optional() }).optional(),
  default_events: z.array(z.string()).default([]),
  default_permissions: z.record(z.string(), z.enum(['read', 'write', 'admin'])).default({}),
});

export const AppManifest = z.object({
  name: z.string(),
  description: z.string().optional(),
  url: z.string(),
  public: z.boolean(),
  hook_attributes: z.object({ url: z.string(), active: z.boolean() }),
  redirect_url: z.string(),
  callback_urls: z.array(z.string()),
  setup_url: z.string().optional(),
  request_oauth_on_install: z.boolean(),
  setup_on_update: z.boolean(),
  default_events: z.array(z.string()),
  default_permissions: z.record(z.string(), z.string()),
});
export type AppManifest = z.infer<typeof AppManifest>;

/** Where this deployment answers: the setup callback, the webhook route and the sign-in callback. */
export interface ManifestUrls {
  /** Public base URL of the app (PUBLIC_URL, or what the operator's browser used). */
  baseUrl: string;
  /** Where GitHub sends webhooks: `<base>/api/github/webhooks`, or a relay channel (WEBHOOK_PROXY_URL). */
  webhookUrl: string;
}

export const SETUP_CALLBACK_PATH = '/setup/callback';
/** The run pages' sign-in callback (src/app, pages): registered so "Sign in with GitHub" works at once. */
export const SIGN_IN_CALLBACK_PATH = '/auth/callback';

export async function readAppYml(path: string): Promise<z.infer<typeof AppYml>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new PullwrightError('config_invalid', `Cannot read the app manifest ${path}`, { retryable: false });
  }
  const parsed = AppYml.safeParse(parse(text) ?? {});
  if (!parsed.success)
    throw new PullwrightError(
      'config_invalid',
      `Invalid app manifest ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      {
        retryable: false,
      },
    );
  return parsed.data;
}

export function buildAppManifest(yml: z.infer<typeof AppYml>, urls: ManifestUrls): AppManifest {
  const base = urls.baseUrl.replace(/\/+$/, '');
  return AppManifest.parse({
    name: yml.name,
    description: yml.description,
    url: yml.url,
    public: yml.public,
    hook_attributes: { url: urls.webhookUrl, active: yml.hook_attributes?.active ?? true },
    redirect_url: `${base}${SETUP_CALLBACK_PATH}`,
    callback_urls: [`${base}${SIGN_IN_CALLBACK_PATH}`],
    // Sign-in is the run pages' own flow; installing the app must not start an OAuth prompt.
    request_oauth_on_install: false,
    setup_on_update: false,
    default_events: yml.default_events,
    default_permissions: yml.default_permissions,
  });
}
