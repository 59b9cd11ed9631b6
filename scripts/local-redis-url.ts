import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The Redis URL for local runs (tests, the demo, benches) without anyone
 * exporting REDIS_URL: `scripts/services.sh` writes the URL of the Redis it
 * started or verified (with its generated password) to `<state dir>/redis-url`.
 * An explicit REDIS_URL always wins. Threat: the default state dir is under the
 * shared /tmp, so a file another user could have written is refused, not used.
 */
export const DEFAULT_STATE_DIR = '/tmp/pullwright-services';

export function localRedisUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REDIS_URL) return env.REDIS_URL;
  const file = join(env.PULLWRIGHT_STATE_DIR || DEFAULT_STATE_DIR, 'redis-url');
  let url: string;
  try {
    url = readFileSync(file, 'utf8').trim();
  } catch {
    // No services.sh run yet (or one from before passwords): the classic local Redis.
    return `redis://127.0.0.1:${env.PULLWRIGHT_REDIS_PORT || '6379'}`;
  }
  const stat = statSync(file);
  const uid = process.getuid?.();
  if ((uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0) {
    throw new Error(
      `${file} is not owned by this user or is writable by others; remove it and run scripts/services.sh up`,
    );
  }
  return url;
}
