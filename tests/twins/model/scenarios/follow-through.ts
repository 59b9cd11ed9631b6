import { SAMPLE_BUGS } from '../fixtures/sample-repo.js';
import type { MessagesRequest, Scenario, ScriptedReply, TestCommand } from '../types.js';
import { EDIT_TOOL, fixLoopStep, isTestRun, TEST_COMMAND } from './fix-loop.js';
import { REVIEWER_MARKER } from './harness-tools.js';
import {
  finish,
  firstUserText,
  lastExchange,
  reply,
  systemText,
  text,
  tool,
  toolExchanges,
} from './helpers.js';
import { extractTaskTitle } from './implement-issue.js';

/**
 * The agent of the follow-through end-to-end tests (issue 15): one scenario that reads
 * which task the harness gave it (the first user message) and acts like a small, honest
 * agent on the sample repository, so tests of several modes can share one stack:
 *
 * - implement, title with `[changelog-only]`: adds a CHANGELOG line and leaves the bugs
 *   (the PR's CI goes red); otherwise fixes the bugs like `fix-failing-test`.
 * - implement, title with `[ask]`: without an earlier question, stops with `needs_input`;
 *   resumed (the task quotes the earlier question and the answer), writes DECISION.md with
 *   the answer and finishes.
 * - repair-ci: runs the tests, fixes what fails (the bugs), finishes; with `[no-fix]` in
 *   the PR title it only touches NOTES.md (a repair that does not repair).
 * - update-branch: resolves every conflict by keeping both sides (a union of the lines),
 *   removing the markers, then runs the tests.
 * - address-review: edits the file of review thread 1 and declines thread 2.
 * - the reviewer before delivery (its own conversation, the reviewer's system prompt):
 *   approves when every verify command passed, asks for changes naming the failing
 *   command otherwise, as the reviewer's prompt tells a real model to.
 */

/** The self-review: judges by the verify results it is shown (the only thing these tasks vary). */
function reviewer(request: MessagesRequest): ScriptedReply {
  const body = firstUserText(request);
  const failed = [...body.matchAll(/^- `([^`]+)`: FAILED \(exit code/gm)].map((m) => m[1] as string);
  if (failed.length > 0)
    return reply(
      tool('submit_review', {
        verdict: 'changes-requested',
        summary: `Verification still fails: ${failed.join(', ')}.`,
        findings: failed.map((command) => ({
          severity: 'blocker',
          problem: `\`${command}\` fails on this change.`,
          suggestion: 'Make it pass before delivering.',
        })),
      }),
    );
  return reply(
    tool('submit_review', {
      verdict: 'approve',
      summary: 'Verification passes; the change does what the task asks.',
      findings: [],
    }),
  );
}

function kindOf(task: string): 'repair' | 'update' | 'review' | 'implement' | 'other' {
  if (task.includes('Repair the failing CI checks')) return 'repair';
  if (/^Update pull request #\d+/m.test(task)) return 'update';
  if (task.includes('Address the review feedback')) return 'review';
  if (/^Resolve issue #\d+/m.test(task)) return 'implement';
  return 'other';
}

const CHANGELOG_LINE = '- Follow-through: a changelog entry.\n';

function changelogOnly(request: MessagesRequest): ScriptedReply {
  const done = toolExchanges(request).some((e) => e.name === EDIT_TOOL && e.result && !e.result.isError);
  if (!done)
    return reply(
      text('Adding the changelog entry.'),
      tool(EDIT_TOOL, {
        command: 'str_replace',
        path: 'CHANGELOG.md',
        old_str: '## Unreleased\n',
        new_str: `## Unreleased\n\n${CHANGELOG_LINE}`,
      }),
    );
  return finish('Added a changelog entry.');
}

function fixBugs(request: MessagesRequest, summary: string, testCommand: TestCommand): ScriptedReply {
  const all = toolExchanges(request);
  if (!all.some(isTestRun))
    return reply(text('Running the failing checks locally.'), tool('bash', { command: testCommand }));
  const step = fixLoopStep(request, 4, testCommand);
  if (step.kind === 'reply') return step.reply;
  if (step.kind === 'gave-up') return finish(`Could not make the tests pass: ${step.reason}.`);
  return finish(`${summary} Fixed ${step.fixed.length} bug(s) in src/math.js; ${testCommand} passes.`);
}

function noFix(request: MessagesRequest): ScriptedReply {
  const done = toolExchanges(request).some((e) => e.name === 'bash');
  // Appends a new line each attempt, so every repair pushes a commit that changes nothing that matters.
  if (!done) return reply(tool('bash', { command: 'date +%s%N >> NOTES.md' }));
  return finish('Wrote notes; the failure is not understood yet.');
}

const QUESTION = 'Should the new option default to A or B?';

function askOrAnswer(request: MessagesRequest, task: string): ScriptedReply {
  const answer = /source="answer to the earlier question">\n([^\n]+)/.exec(task)?.[1]?.trim();
  if (!task.includes('The earlier run stopped to ask') || !answer)
    return {
      content: [
        tool('finish', {
          summary: 'The issue leaves the default open.',
          needs_input: { question: QUESTION },
        }),
      ],
    };
  const done = toolExchanges(request).some((e) => e.name === EDIT_TOOL);
  if (!done)
    return reply(
      tool(EDIT_TOOL, {
        command: 'create',
        path: 'DECISION.md',
        file_text: `Asked: ${QUESTION}\nAnswer: ${answer}\n`,
      }),
    );
  return finish(`Recorded the maintainers' decision (${answer}) in DECISION.md.`);
}

/** `node -e` that keeps both sides of each diff3 conflict (ours, then theirs) and drops the markers. */
function unionScript(path: string): string {
  const js = [
    "const fs=require('fs');const f=process.argv[1];",
    "const out=[];let mode='';",
    "for(const l of fs.readFileSync(f,'utf8').split('\\n')){",
    "if(l.startsWith('<<<<<<< ')){mode='ours';continue}",
    "if(l.startsWith('||||||| ')){mode='base';continue}",
    "if(l==='======='&&mode){mode='theirs';continue}",
    "if(l.startsWith('>>>>>>> ')){mode='';continue}",
    "if(mode!=='base')out.push(l)}",
    "fs.writeFileSync(f,out.join('\\n'))",
  ].join('');
  return `node -e "${js}" ${JSON.stringify(path)}`;
}

function resolveConflicts(request: MessagesRequest, task: string, testCommand: TestCommand): ScriptedReply {
  const paths = [...task.matchAll(/^## Conflict \d+ in (.+)$/gm)].map((m) => m[1]!.trim());
  const all = toolExchanges(request);
  const resolved = all.filter(
    (e) => e.name === 'bash' && String(e.input.command).startsWith('node -e'),
  ).length;
  const next = paths[resolved];
  if (next)
    return reply(
      text(`Resolving ${next} by keeping both sides.`),
      tool('bash', { command: unionScript(next) }),
    );
  if (!lastExchange(all, 'bash', isTestRun)) return reply(tool('bash', { command: testCommand }));
  return finish(`Resolved the conflicts in ${paths.join(', ')} by keeping both sides.`);
}

function review(request: MessagesRequest, task: string): ScriptedReply {
  const where = /^## Review thread 1 on ([^\s:]+)/m.exec(task)?.[1] ?? 'README.md';
  const done = toolExchanges(request).some((e) => e.name === EDIT_TOOL);
  if (!done)
    return reply(
      tool(EDIT_TOOL, {
        command: 'insert',
        path: where,
        insert_line: 0,
        new_str: '// Reviewed: clarified as asked.\n',
      }),
    );
  return {
    content: [
      tool('finish', {
        summary: `Clarified ${where} as asked in thread 1; kept thread 2 as is.`,
        threads: [
          { thread: 1, reply: `Added the clarification to ${where}.`, status: 'addressed' },
          { thread: 2, reply: 'I disagree: renaming it would break the public API.', status: 'declined' },
        ],
      }),
    ],
  };
}

export const followThroughScenario: Scenario = {
  name: 'follow-through',
  description:
    'Issue 15 e2e agent: red-CI PRs ([changelog-only]), CI repairs ([no-fix] to fail), conflict resolution, review threads (one declined) and questions ([ask]).',
  respond(request, ctx) {
    if (systemText(request).includes(REVIEWER_MARKER)) return reviewer(request);
    const testCommand = ctx.testCommand ?? TEST_COMMAND;
    const task = firstUserText(request);
    const title = extractTaskTitle(task);
    switch (kindOf(task)) {
      case 'repair':
        return task.includes('[no-fix]')
          ? noFix(request)
          : fixBugs(request, 'The CI failure was in src/math.js.', testCommand);
      case 'update':
        return resolveConflicts(request, task, testCommand);
      case 'review':
        return review(request, task);
      case 'implement':
        if (title.includes('[ask]')) return askOrAnswer(request, task);
        if (title.includes('[changelog-only]')) return changelogOnly(request);
        return fixBugs(request, `Implemented "${title}".`, testCommand);
      default:
        return finish('Nothing to do.');
    }
  },
};

/** What the repaired sample's src/math.js contains (tests assert on it). */
export const FIXED_LINES = SAMPLE_BUGS.map((b) => b.fixed);
