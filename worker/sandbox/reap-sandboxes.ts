import { readdir, rm, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import Docker from 'dockerode';
import { createSilentLogger, type Logger } from '../../src/logger.js';
import { DEFAULT_EGRESS_ROOT } from './docker-sandbox-provider.js';
import { EGRESS_DIR_LABEL, HOST_LABEL, SANDBOX_LABEL, WORKSPACE_LABEL } from './sandbox-labels.js';

/**
 * Removes what a crashed worker left behind: its sandbox containers (found by
 * label, only this worker host's, so two workers sharing one Docker engine never
 * reap each other's) with their egress folders, and stale working copies under
 * the worker's jobs folder that no remaining container mounts.
 */
export interface ReapSandboxesInput {
  workerHostId: string;
  docker?: Docker;
  /** Only what is older than this; 0 (the default) on worker start reaps everything of this host. */
  olderThanMs?: number;
  /** Folder holding this worker's per-job working copies; each child folder is one job. */
  workspaceRoot?: string;
  /** The provider's egress root (default as in DockerSandboxProvider). */
  egressRoot?: string;
  /** Spares sandboxes of jobs still running in this process. */
  isActive?: (labels: Record<string, string>) => boolean;
  log?: Logger;
}

export interface ReapResult {
  containers: string[];
  workspaces: string[];
}

function inside(root: string, path: string): boolean {
  const r = resolve(root);
  const p = resolve(path);
  return p.startsWith(r + sep);
}

export async function reapSandboxes(input: ReapSandboxesInput): Promise<ReapResult> {
  const docker = input.docker ?? new Docker();
  const log = input.log ?? createSilentLogger();
  const olderThanMs = input.olderThanMs ?? 0;
  const egressRoot = input.egressRoot ?? DEFAULT_EGRESS_ROOT;
  const cutoff = Date.now() - olderThanMs;
  const result: ReapResult = { containers: [], workspaces: [] };
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${SANDBOX_LABEL}=1`, `${HOST_LABEL}=${input.workerHostId}`] },
  });
  const stillMounted = new Set<string>();
  for (const info of containers) {
    const labels = info.Labels ?? {};
    const old = info.Created * 1000 <= cutoff;
    if (!old || input.isActive?.(labels)) {
      if (labels[WORKSPACE_LABEL]) stillMounted.add(resolve(labels[WORKSPACE_LABEL]));
      continue;
    }
    try {
      await docker.getContainer(info.Id).remove({ force: true, v: true });
      result.containers.push(info.Id);
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== 404) log.warn({ err, containerId: info.Id }, 'Reaper could not remove a sandbox');
    }
    const egressDir = labels[EGRESS_DIR_LABEL];
    if (egressDir && inside(egressRoot, egressDir)) await rm(egressDir, { recursive: true, force: true });
  }
  if (input.workspaceRoot) {
    let entries: string[] = [];
    try {
      entries = await readdir(input.workspaceRoot);
    } catch {
      entries = [];
    }
    for (const name of entries) {
      const dir = resolve(input.workspaceRoot, name);
      if (stillMounted.has(dir)) continue;
      try {
        const s = await stat(dir);
        if (!s.isDirectory() || s.mtimeMs > cutoff) continue;
        await rm(dir, { recursive: true, force: true });
        result.workspaces.push(dir);
      } catch {
        // vanished meanwhile
      }
    }
  }
  if (result.containers.length > 0 || result.workspaces.length > 0)
    log.info(
      { containers: result.containers.length, workspaces: result.workspaces.length },
      'Reaped leftovers of a previous run',
    );
  return result;
}

/**
 * Reaps once now, then every `intervalMs`; returns a stop function. Use an
 * `olderThanMs` above the longest job's wall time so live jobs are never touched.
 */
export function startSandboxReaper(input: ReapSandboxesInput & { intervalMs: number }): () => void {
  const log = input.log ?? createSilentLogger();
  let running = false;
  const tick = () => {
    if (running) return;
    running = true;
    reapSandboxes(input)
      .catch((err) => log.warn({ err }, 'Sandbox reaper run failed'))
      .finally(() => {
        running = false;
      });
  };
  tick();
  const timer = setInterval(tick, input.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
