/**
 * Whether a Redis URL authenticates. Threat (issue 14, item 1): a job written into
 * Redis runs with the app's GitHub credentials, so a Redis anyone on the network
 * (or a local process) can write to is a way around every authorization check.
 * The processes still start without a password (local tests and the demo on an
 * old loopback Redis), but say so loudly at boot.
 */
export function redisUrlHasPassword(redisUrl: string): boolean {
  try {
    return new URL(redisUrl).password !== '';
  } catch {
    return false;
  }
}

/** The env's Redis settings authenticate: REDIS_PASSWORD (URL or Sentinel), or a URL with one. */
export function redisConfigHasPassword(config: {
  REDIS_URL: string;
  REDIS_PASSWORD?: string;
  REDIS_SENTINELS?: readonly unknown[];
}): boolean {
  if (config.REDIS_PASSWORD) return true;
  return (config.REDIS_SENTINELS ?? []).length === 0 && redisUrlHasPassword(config.REDIS_URL);
}

export const REDIS_NO_PASSWORD_WARNING =
  'REDIS_URL has no password: anything that can reach Redis can queue a job that runs with the app credentials';
