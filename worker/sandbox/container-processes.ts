import type Docker from 'dockerode';
import { rawExec } from './docker-exec.js';
import { KILL_TREE_SCRIPT, OOM_COUNT_SCRIPT } from './sandbox-scripts.js';

/**
 * Kills one command's whole process tree (every process carrying its exec marker,
 * and their sessions) from a second exec. Returns false when that exec could not
 * do it in three tries (a fork bomb holding every pid the limit allows); the caller
 * then restarts the container.
 */
export async function killProcessTree(container: Docker.Container, marker: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const out = await rawExec(container, {
        cmd: ['bash', '-c', KILL_TREE_SCRIPT, 'pw-kill', marker],
        maxOutputBytes: 4096,
      });
      if (out.exitCode === 0) return true;
    } catch {
      // fall through and retry
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** The container's count of OOM kills from its memory cgroup, or null when unreadable. */
export async function countOomKills(container: Docker.Container): Promise<number | null> {
  try {
    const out = await rawExec(container, { cmd: ['bash', '-c', OOM_COUNT_SCRIPT], maxOutputBytes: 64 });
    const count = Number.parseInt(out.stdout.toBuffer().toString('utf8').trim(), 10);
    return Number.isFinite(count) && count >= 0 ? count : null;
  } catch {
    return null;
  }
}
