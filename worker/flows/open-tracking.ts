import type { TargetTask, Task } from '../../src/domain/task.js';
import type { RepoGitHub } from '../../src/github/github-for-worker.js';
import type { Logger } from '../../src/logger.js';
import { type QuestionState, readQuestionMarker } from './questions.js';
import { TrackingComment, trackingMarker } from './tracking-comment.js';

export function trackingKeyOf(task: Task): string {
  const target = task.kind === 'maintenance' ? `maintenance/${task.maintenanceTaskId}` : `#${task.number}`;
  return `${task.repo.owner}/${task.repo.name}${target}`;
}

/**
 * Creates the run's tracking comment, or adopts the one an earlier run on the same issue or
 * PR left; an open question that run asked (questions.ts) is read before it is rewritten.
 */
export async function openTracking(input: {
  task: TargetTask;
  title: string;
  github: RepoGitHub;
  botLogin: string;
  log: Logger;
  /** Told the comment's URL when this run creates it (the run record links it). */
  onCreated?: (htmlUrl: string) => void;
}): Promise<{ tracking: TrackingComment; openQuestion: QuestionState | null }> {
  const { task, github } = input;
  const key = trackingKeyOf(task);
  // A retried job (after a crash or a redelivery) edits the comment its first attempt created.
  const marker = trackingMarker(key);
  const comments = await github.listIssueComments(task.number);
  const existing = comments.find((c) => c.author === input.botLogin && c.body.includes(marker));
  const tracking = new TrackingComment(
    key,
    {
      create: async (body) => {
        const created = await github.createComment(task.number, body);
        input.onCreated?.(created.htmlUrl);
        return created;
      },
      update: (id, body) => github.updateComment(id, body),
    },
    { title: input.title, status: 'running', phase: 'prepare', plan: [], step: 'Reading the request' },
    input.log,
    existing?.id ?? null,
  );
  // Only the bot's own comment is read (a person cannot plant a question for the agent).
  const openQuestion = existing ? readQuestionMarker(existing.body) : null;
  await tracking.start();
  return { tracking, openQuestion };
}
