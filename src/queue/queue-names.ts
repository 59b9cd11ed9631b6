import type { RepoRef, TaskKind } from '../domain/task.js';

/**
 * Names and ids on the queue. BullMQ rejects ':' in queue names and custom job
 * ids (it is its own key separator), so ids here use '~', '/' and '#' only.
 */
export const TASK_QUEUE = 'tasks';

/** Everything Pullwright keeps in Redis besides BullMQ's own keys lives under `<prefix>:pw:`. */
export function keyPrefix(prefix: string): string {
  return `${prefix}:pw`;
}

export interface Target {
  installationId: number;
  repo: RepoRef;
  number: number;
}

export function repoSlug(repo: RepoRef): string {
  // GitHub names are case-insensitive; one spelling per repo keeps dedup exact.
  return `${repo.owner}/${repo.name}`.toLowerCase();
}

/** `123/octo/hello#7`: one issue or PR of one installation. */
export function targetId(target: Target): string {
  return `${target.installationId}/${repoSlug(target.repo)}#${target.number}`;
}

/**
 * The job id: kind, target and the delivery that asked. A redelivered webhook
 * (same delivery id) maps to the same job; a later legitimate re-ask (a new
 * delivery) gets a new id once the earlier job is finished.
 */
export function taskJobId(kind: TaskKind, target: string, deliveryId: string): string {
  return `${kind}~${target}~${deliveryId.replace(/[^A-Za-z0-9-]/g, '')}`;
}

/** The deduplication id: one live job per issue or PR, whatever the kind. */
export function targetDedupId(target: string): string {
  return `target~${target}`;
}

export function schedulerId(installationId: number, repo: RepoRef, taskId: string): string {
  return `maintenance~${installationId}/${repoSlug(repo)}~${taskId}`;
}
