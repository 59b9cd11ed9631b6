import type { MessagesRequest, Scenario, ScenarioContext, ScriptedReply } from '../types.js';
import { EDIT_TOOL, fixLoopStep, isEdit, TEST_COMMAND } from './fix-loop.js';
import { finish, firstUserText, oneLine, planUpdate, reply, text, tool, toolExchanges } from './helpers.js';

/**
 * The task title, read from the first user message: a `Title: …` line, else an
 * `Issue #N: …` line, else the first
 * markdown heading, else the first non-empty line. Untrusted text: flattened to one
 * bounded line before it is quoted anywhere.
 */
export function extractTaskTitle(taskText: string): string {
  const titled =
    /^\s*(?:issue\s+)?title\s*:\s*(.+)$/im.exec(taskText) ??
    /^\s*(?:#+\s*)?issue\s+#\d+\s*[:\-–]\s*(.+)$/im.exec(taskText);
  const heading = /^\s{0,3}#{1,3}\s+(.+)$/m.exec(taskText);
  const firstLine = taskText.split('\n').find((l) => l.trim().length > 0) ?? 'the requested change';
  return oneLine(titled?.[1] ?? heading?.[1] ?? firstLine, 80) || 'the requested change';
}

const PLAN: [string, 'pending' | 'in_progress' | 'completed'][] = [
  ['Explore the repository', 'in_progress'],
  ['Make the tests pass', 'pending'],
  ['Record the change in CHANGELOG.md', 'pending'],
];

function next(request: MessagesRequest, ctx: ScenarioContext): ScriptedReply {
  const title = extractTaskTitle(firstUserText(request));
  const all = toolExchanges(request);
  if (all.length === 0) {
    return reply(
      text(`Working on: ${title}. First, a look around.`),
      planUpdate(PLAN),
      tool('list_files', { path: '.', depth: 2 }),
    );
  }
  const step = fixLoopStep(request, 4, ctx.testCommand ?? TEST_COMMAND);
  if (step.kind === 'reply') return step.reply;
  if (step.kind === 'gave-up') return finish(`Could not complete "${title}": ${step.reason}.`);

  const entry = `- ${title}\n`;
  const changelogEdits = all.filter((e) => isEdit(e, 'CHANGELOG.md'));
  const done = changelogEdits.some((e) => e.result && !e.result.isError);
  if (!done) {
    const attempt = changelogEdits.length;
    if (attempt === 0) {
      return reply(
        text('The tests pass. Recording the change in the changelog.'),
        tool(EDIT_TOOL, {
          command: 'str_replace',
          path: 'CHANGELOG.md',
          old_str: '## Unreleased\n',
          new_str: `## Unreleased\n\n${entry}`,
        }),
      );
    }
    if (attempt === 1)
      return reply(
        tool(EDIT_TOOL, {
          command: 'insert',
          path: 'CHANGELOG.md',
          insert_line: 0,
          new_str: `## Unreleased\n\n${entry}\n`,
        }),
      );
    if (attempt === 2)
      return reply(
        tool(EDIT_TOOL, {
          command: 'create',
          path: 'CHANGELOG.md',
          file_text: `# Changelog\n\n## Unreleased\n\n${entry}`,
        }),
      );
    return finish(`Fixed the code for "${title}" but could not update CHANGELOG.md.`);
  }
  if (all.at(-1)?.name !== 'update_plan') {
    return reply(planUpdate(PLAN.map(([step]) => [step, 'completed'])));
  }
  const fixes =
    step.fixed.length > 0 ? `fixed ${step.fixed.length} bug(s) in src/math.js` : 'the tests already passed';
  return finish(`${title}: ${fixes}, all tests pass, and CHANGELOG.md lists the change.`);
}

/** The demo's agent: reads the task from the first user message and makes a small deterministic change to the sample repo. */
export const implementIssueScenario: Scenario = {
  name: 'implement-issue',
  description:
    'Reads the task title from the first user message, fixes the sample repo so its tests pass and adds a CHANGELOG entry.',
  respond: next,
};
