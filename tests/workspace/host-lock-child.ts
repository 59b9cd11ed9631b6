/**
 * A separate worker process for the host-lock tests:
 *   hold <lockFile>                           takes the lock, prints "held", never lets go;
 *   fetch <remoteUrl> <token> <cacheDir> <goFile>
 *                                             prints "ready", waits for <goFile> to exist (so
 *                                             every child starts at the same moment), runs
 *                                             ensureRepoCache, prints the cache's main sha.
 */
import { existsSync } from 'node:fs';

import { withHostLock } from '../../worker/workspace/host-lock.js';
import { ensureRepoCache, resolveRef } from '../../worker/workspace/repo-cache.js';

const [mode, ...args] = process.argv.slice(2);
if (mode === 'hold') {
  await withHostLock(args[0] as string, async () => {
    process.stdout.write('held\n');
    await new Promise(() => {});
  });
} else if (mode === 'fetch') {
  const [remoteUrl, token, cacheDir, goFile] = args as [string, string, string, string];
  process.stdout.write('ready\n');
  while (!existsSync(goFile)) await new Promise((resolve) => setTimeout(resolve, 2));
  const cache = await ensureRepoCache({ remoteUrl, token, cacheDir });
  process.stdout.write(`${await resolveRef(cache, 'main')}\n`);
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
