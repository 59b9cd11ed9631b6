import type { MessagesRequest, Scenario, ScriptedReply, TestCommand } from '../types.js';
import { fixLoopStep, isEdit, TEST_COMMAND } from './fix-loop.js';
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

/**
 * Issue 18's harness tools on the sample repo (writeFixFailingTestRepo), in one run:
 * the main agent asks two subagents in ONE response (parallel `delegate` calls), tries a
 * command the tool policy denies (`git push`), calls every MCP tool it is offered, then runs
 * the fix loop and finishes with what each step returned. The same scenario answers the
 * subagents' own conversations (search → view → report) and the pre-delivery reviewer's
 * (see REVIEWER below), recognised by their system prompts.
 */
export const DENIED_COMMAND = 'git push origin HEAD:main';
export const SUBAGENT_QUESTIONS = [
  'Where are the functions add and average defined in this repository? Give the file and line numbers.',
  'Which test file covers add and average, and what do those tests assert?',
];
/** The reviewer's answer is scripted from the diff: a change that still divides by `length - 1` is a real problem. */
const REVIEW_BUG = /length\s*-\s*1/;

function offered(request: MessagesRequest): string[] {
  return (request.tools ?? []).map((t) => t.name);
}

function firstLine(s: string | undefined): string {
  return (s ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
}

/** A subagent: search for what the question names, view the first hit, report paths and lines. */
function subagent(request: MessagesRequest): ScriptedReply {
  const question = firstUserText(request);
  const all = toolExchanges(request);
  const wantsTests = /test/i.test(question.split('\n').slice(1).join(' '));
  const pattern = wantsTests ? "test\\('(add|average)" : 'function (add|average)';
  const search = lastExchange(all, 'search');
  if (!search) return reply(text('Searching.'), tool('search', { pattern }));
  const hits = (search.result?.text ?? '').split('\n').filter((l) => /^[^:\s]+:\d+:/.test(l));
  const path = hits[0]?.split(':')[0];
  if (path && !lastExchange(all, 'view')) return reply(tool('view', { path }));
  const where = hits.map((h) => h.split(':').slice(0, 2).join(':')).join(', ');
  const report = wantsTests
    ? `The tests are in ${path ?? 'no file found'} (${where || 'no match'}); they assert add(2, 3) === 5 and average([2, 4, 6]) === 4.`
    : `add and average are defined in ${path ?? 'no file found'} (${where || 'no match'}).`;
  return reply(tool('finish', { report }));
}

export const REVIEWER_MARKER = 'You review one change before it is delivered';

/** The reviewer: approves unless the diff still holds the averaging bug. */
function reviewer(request: MessagesRequest): ScriptedReply {
  const body = firstUserText(request);
  const added = body
    .split('\n')
    .filter((l) => l.startsWith('+') && !l.startsWith('+++'))
    .join('\n');
  // A real reviewer reads the verify output too: the averaging test still failing is the problem.
  const failing = /FAILED \(exit code/.test(body) && /not ok \d+ - average of a list/.test(body);
  if (REVIEW_BUG.test(added) || failing)
    return {
      content: [
        tool('submit_review', {
          verdict: 'changes-requested',
          summary: 'average() still divides by values.length - 1.',
          findings: [
            {
              severity: 'blocker',
              path: 'src/math.js',
              problem: 'average() divides by values.length - 1, so the mean is wrong.',
              suggestion: 'Divide by values.length.',
            },
          ],
        }),
      ],
    };
  return {
    content: [
      tool('submit_review', {
        verdict: 'approve',
        summary: 'The change fixes add and average; tests pass.',
        findings: [],
      }),
    ],
  };
}

function mainAgent(request: MessagesRequest, testCommand: TestCommand): ScriptedReply {
  const tools = offered(request);
  const all = toolExchanges(request);
  const task = firstUserText(request);
  // A review round: the task carries the reviewer's findings; fix what they name and finish.
  if (/reviewer/i.test(task) && /average\(\) divides by values\.length - 1/.test(task)) {
    const edit = lastExchange(all, 'str_replace_based_edit_tool');
    if (!edit)
      return reply(
        text('Addressing the review.'),
        tool('str_replace_based_edit_tool', {
          command: 'str_replace',
          path: 'src/math.js',
          old_str: 'return total / (values.length - 1);',
          new_str: 'return total / values.length;',
        }),
      );
    return finish('Addressed the review: average() now divides by values.length.');
  }
  if (tools.includes('delegate') && !all.some((e) => e.name === 'delegate'))
    return reply(
      text('Two questions for subagents, in parallel.'),
      ...SUBAGENT_QUESTIONS.map((question) => tool('delegate', { question })),
    );
  if (!all.some((e) => e.name === 'bash' && e.input.command === DENIED_COMMAND))
    return reply(text('Trying to push directly.'), tool('bash', { command: DENIED_COMMAND }));
  const mcp = tools.filter((t) => t.startsWith('mcp__'));
  if (mcp.length > 0 && !all.some((e) => e.name.startsWith('mcp__')))
    return reply(
      text('Looking it up with the MCP tools.'),
      ...mcp.map((name) => tool(name, { topic: 'average' })),
    );
  // Leave the averaging bug in when the task says so (to give the reviewer something real).
  const leaveBug = /leave the average bug/i.test(task);
  const step = fixLoopStep(request, 4, testCommand);
  if (step.kind === 'reply') {
    if (leaveBug && all.some((e) => isEdit(e, 'src/math.js') && e.result && !e.result.isError))
      return done(all);
    return step.reply;
  }
  return done(all);
}

function done(all: ReturnType<typeof toolExchanges>): ScriptedReply {
  const lines = [
    ...all.filter((e) => e.name === 'delegate').map((e) => `delegate: ${firstLine(e.result?.text)}`),
    ...all
      .filter((e) => e.name === 'bash' && e.input.command === DENIED_COMMAND)
      .map((e) => `denied: ${e.result?.isError ? firstLine(e.result.text).slice(0, 120) : 'NOT DENIED'}`),
    ...all
      .filter((e) => e.name.startsWith('mcp__'))
      .map((e) => `${e.name}: ${firstLine(e.result?.text).slice(0, 200)}`),
  ];
  return finish(`Fixed src/math.js.\n${lines.join('\n')}`);
}

export const harnessToolsScenario: Scenario = {
  name: 'harness-tools',
  description:
    'Parallel subagents (delegate), a denied git push, every offered MCP tool, then the fix loop; also answers subagent and reviewer conversations.',
  respond(request: MessagesRequest, ctx): ScriptedReply {
    const system = systemText(request);
    if (system.includes('read-only research subagent')) return subagent(request);
    if (system.includes(REVIEWER_MARKER)) return reviewer(request);
    return mainAgent(request, ctx.testCommand ?? TEST_COMMAND);
  },
};
