import { sanitizeUntrustedLine } from '../../../src/domain/sanitize-untrusted.js';
import type { AgentTask } from '../tool.js';
import { fenceUntrusted } from './fence-untrusted.js';

const MAX_TASK_TEXT = 60_000;

function capTask(text: string): string {
  return text.length <= MAX_TASK_TEXT
    ? text
    : `${text.slice(0, MAX_TASK_TEXT)}\n[... ${text.length - MAX_TASK_TEXT} characters cut]`;
}

/**
 * A title, branch name or path, cleaned on its own: no line breaks, invisibles or comment
 * markup (an unclosed `<!--` cannot swallow what follows), and read literally, as GitHub
 * shows it (a title `[Bug]: Crash` is not a markdown link definition to drop).
 */
function oneLine(text: string): string {
  return sanitizeUntrustedLine(text).replace(/\s+/g, ' ').trim().slice(0, 300);
}

function fence(source: string, text: string, as: 'markdown' | 'code' = 'markdown'): string {
  return fenceUntrusted(source, capTask(text), as);
}

/** Renders the task. Every piece of human-written text goes through the data fence; only our own framing is plain. */
export function renderTask(task: AgentTask): string {
  const out: string[] = ['# Task'];
  switch (task.kind) {
    case 'implement': {
      const n = task.issue.number;
      out.push(
        `Resolve issue #${n}: implement what it asks in this repository, verify it, then call finish.`,
        // One fence for the issue, its title on a `Title:` line, as a reader sees it on GitHub.
        fence(
          `issue #${n}`,
          `Title: ${oneLine(task.issue.title)}\n\n${task.issue.body || '(no description)'}`,
        ),
      );
      if (task.issue.comments.length > 0) {
        out.push(`Comments on issue #${n}, oldest first:`);
        task.issue.comments.forEach((c, i) => {
          out.push(fence(`issue #${n} comment ${i + 1} by @${c.author}`, c.body));
        });
      }
      if (task.instruction)
        out.push('The request that started this run:', fence('trigger comment', task.instruction));
      break;
    }
    case 'address-review':
    case 'revise': {
      // Branch names and paths come from the repository, so they are cleaned like titles.
      const pr = { ...task.pr, headRef: oneLine(task.pr.headRef), baseRef: oneLine(task.pr.baseRef) };
      out.push(
        task.kind === 'address-review'
          ? `Address the review feedback on pull request #${pr.number} (branch ${pr.headRef} into ${pr.baseRef}). The workspace is the pull request's branch. Change the code where the feedback asks for it; where you disagree or cannot, say why. Then verify and call finish, with one short reply per review thread in \`threads\` (by its number): what you changed for it, or why you changed nothing.`
          : `Revise pull request #${pr.number} (branch ${pr.headRef} into ${pr.baseRef}) as requested below. The workspace is the pull request's branch. Then verify and call finish.`,
        fence(`PR #${pr.number}`, `Title: ${oneLine(pr.title)}\n\n${pr.body || '(no description)'}`),
      );
      for (const review of task.reviews) {
        if (review.body.trim() === '') continue;
        out.push(
          `Review by @${review.author} (${review.state}):`,
          fence(`review by @${review.author}`, review.body),
        );
      }
      task.threads.forEach((t, i) => {
        const path = oneLine(t.path);
        const where = t.line === null ? `${path} (outdated position)` : `${path}:${t.line}`;
        out.push(
          `## Review thread ${i + 1} on ${where}`,
          'Diff hunk:',
          fence(`diff hunk of thread ${i + 1}`, t.diffHunk, 'code'),
        );
        t.comments.forEach((c, j) => {
          out.push(fence(`thread ${i + 1} comment ${j + 1} by @${c.author}`, c.body));
        });
      });
      if (task.threads.length === 0 && task.reviews.every((r) => r.body.trim() === ''))
        out.push('There are no open review threads.');
      if (task.instruction)
        out.push('The request that started this run:', fence('trigger comment', task.instruction));
      break;
    }
    case 'maintenance':
      out.push(
        `Scheduled maintenance task "${task.taskId.replace(/[^\w.-]/g, '_')}". Do what it asks if anything needs doing; if nothing does, change nothing and explain in finish.`,
        fence(`maintenance task ${task.taskId}`, task.prompt),
      );
      break;
    case 'local':
      out.push(
        'Do the following in this repository, verify it, then call finish.',
        fence('local task', task.text),
      );
      break;
  }
  return out.join('\n\n');
}

/** Workspace-relative paths the task mentions (used to pick nested AGENTS.md files). */
export function mentionedPaths(task: AgentTask): string[] {
  const texts: string[] = [];
  const paths: string[] = [];
  if (task.kind === 'implement') {
    texts.push(
      task.issue.title,
      task.issue.body,
      ...task.issue.comments.map((c) => c.body),
      task.instruction ?? '',
    );
  } else if (task.kind === 'address-review' || task.kind === 'revise') {
    texts.push(task.pr.title, task.pr.body, ...task.reviews.map((r) => r.body), task.instruction ?? '');
    for (const t of task.threads) {
      paths.push(t.path);
      texts.push(...t.comments.map((c) => c.body));
    }
  } else if (task.kind === 'maintenance') texts.push(task.prompt);
  else if (task.kind === 'local') texts.push(task.text);
  for (const text of texts) {
    for (const m of text.matchAll(/(?:^|[\s`'"(])\.?\/?((?:[\w@.-]+\/)+[\w@.-]*)/g)) paths.push(m[1] ?? '');
  }
  return [...new Set(paths.map((p) => p.replace(/^\.\//, '')))].filter(
    (p) => p !== '' && !p.split('/').includes('..') && !p.startsWith('/'),
  );
}
