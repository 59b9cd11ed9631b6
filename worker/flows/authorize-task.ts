import { authorityOf, type Task } from '../../src/domain/task.js';
import type { RepoGitHub } from '../../src/github/github-for-worker.js';
import { hasWriteAccess } from '../../src/github/permission.js';
import type { Logger } from '../../src/logger.js';

/**
 * Whose authority a job runs on, re-checked when it starts (src/domain/task.ts `authorityOf`):
 * a person (their trigger, or a follow-up on behalf of the PR's requester) must still have
 * write access; a maintenance task or a follow-up on a maintenance PR is authorized by its
 * task id, which the default branch's config must still declare (checked by the maintenance
 * mode for scheduled runs, and here for follow-ups). A bot or the app never becomes authority.
 * Returns why the job is refused, or null. A refusal posts nothing: refusing must not become
 * a way to make the bot talk.
 */
export async function refusalOf(input: {
  task: Task;
  github: Pick<RepoGitHub, 'getPermission'>;
  maintenanceTaskIds: () => string[];
  log: Logger;
}): Promise<string | null> {
  const { task, log } = input;
  const authority = authorityOf(task);
  if (authority.kind === 'person' || task.trigger.source === 'follow-up') {
    // A dashboard tick is a maintenance task ticked by a writer: their access is checked too.
    const login = authority.kind === 'person' ? authority.login : task.trigger.actor;
    if (authority.kind === 'person' || login !== 'schedule') {
      const permission = await input.github.getPermission(login);
      if (!hasWriteAccess(permission)) {
        log.warn({ actor: login, permission }, 'Job refused: requester lacks write permission');
        return 'the requester no longer has write access';
      }
    }
  }
  if (authority.kind === 'maintenance' && task.kind !== 'maintenance') {
    if (!input.maintenanceTaskIds().includes(authority.taskId)) {
      log.warn({ taskId: authority.taskId }, 'Job refused: the maintenance task is no longer declared');
      return 'the maintenance task is no longer declared';
    }
  }
  return null;
}
