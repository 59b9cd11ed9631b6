import { SAMPLE_BUGS } from '../fixtures/sample-repo.js';
import { type MessagesRequest, ONE_PROCESS_TESTS, type ScriptedReply, type TestCommand } from '../types.js';
import { lastExchange, reply, type ToolExchange, testOutcome, text, tool, toolExchanges } from './helpers.js';

/** The default test command of the coding scenarios (`ModelTwinOptions.testCommand` may pick another). */
export const TEST_COMMAND: TestCommand = 'npm test';
export const EDIT_TOOL = 'str_replace_based_edit_tool';

/** The one-process command after `node `: node options (testCommandWith) go before it. */
const ONE_PROCESS_SCRIPT = ONE_PROCESS_TESTS.slice('node '.length);

const TEST_COMMANDS: readonly string[] = ['npm test', 'node --test', ONE_PROCESS_SCRIPT];

/** A bash call that runs the sample repo's tests, with any of the test commands. */
export function isTestRun(e: ToolExchange): boolean {
  const command = e.input.command;
  return e.name === 'bash' && typeof command === 'string' && TEST_COMMANDS.some((t) => command.includes(t));
}

/**
 * The test command with extra arguments for node's test runner (npm needs `--` before them; the
 * one-process command takes them as node options, before its script).
 */
export function testCommandWith(command: TestCommand, args: string): string {
  if (command === 'npm test') return `${command} -- ${args}`;
  if (command === ONE_PROCESS_TESTS) return `node ${args} ${ONE_PROCESS_SCRIPT}`;
  return `${command} ${args}`;
}

export function isEdit(e: ToolExchange, path?: string): boolean {
  return (
    e.name === EDIT_TOOL &&
    (e.input.command === 'str_replace' || e.input.command === 'insert' || e.input.command === 'create') &&
    (path === undefined || e.input.path === path)
  );
}

export type FixLoopStep =
  | { kind: 'reply'; reply: ScriptedReply }
  | { kind: 'passed'; fixed: string[] }
  | { kind: 'gave-up'; reason: string; fixed: string[] };

/** Test names the output reports as failing (TAP `not ok N - name` or spec `✖ name`). */
function failingTests(output: string): string[] {
  return SAMPLE_BUGS.filter((bug) => {
    const name = bug.test.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`(?:not ok \\d+ - |✖ )${name}`).test(output);
  }).map((bug) => bug.test);
}

/**
 * The adaptive core shared by the coding scenarios: run the tests, read the failure,
 * view the file, fix the bug the failing test points at, run the tests again, and
 * repeat until they pass or the attempts run out. A pure function of the history.
 */
export function fixLoopStep(
  request: MessagesRequest,
  maxEdits = 4,
  testCommand: TestCommand = TEST_COMMAND,
): FixLoopStep {
  const all = toolExchanges(request);
  const fixed = all
    .filter((e) => isEdit(e, 'src/math.js') && e.result && !e.result.isError)
    .map((e) => String(e.input.old_str ?? ''));
  const lastTest = lastExchange(all, 'bash', isTestRun);
  if (!lastTest?.result) {
    return {
      kind: 'reply',
      reply: reply(text('Let me run the test suite first.'), tool('bash', { command: testCommand })),
    };
  }
  const outcome = testOutcome(lastTest.result.text);
  if (outcome === 'pass' || (outcome === 'unknown' && !lastTest.result.isError))
    return { kind: 'passed', fixed };

  const since = all.slice(all.indexOf(lastTest) + 1).filter((e) => e.result);
  const edits = all.filter((e) => isEdit(e, 'src/math.js'));
  if (edits.length >= maxEdits) {
    return { kind: 'gave-up', reason: `the tests still fail after ${edits.length} edits`, fixed };
  }
  const last = since.at(-1);
  const views = since.filter((e) => e.name === EDIT_TOOL && e.input.command === 'view');
  if (!last || (last.name === EDIT_TOOL && last.input.command === 'str_replace' && last.result?.isError)) {
    if (views.length >= 3) return { kind: 'gave-up', reason: 'could not apply a fix to src/math.js', fixed };
    return {
      kind: 'reply',
      reply: reply(
        text('The tests fail. Let me look at the code under test.'),
        tool(EDIT_TOOL, { command: 'view', path: 'src/math.js' }),
      ),
    };
  }
  if (last.name === EDIT_TOOL && last.input.command === 'view') {
    const source = last.result?.text ?? '';
    const failing = failingTests(lastTest.result.text);
    const bug =
      SAMPLE_BUGS.find((b) => failing.includes(b.test) && source.includes(b.buggy)) ??
      SAMPLE_BUGS.find((b) => source.includes(b.buggy));
    if (!bug)
      return { kind: 'gave-up', reason: 'could not find the cause of the failure in src/math.js', fixed };
    return {
      kind: 'reply',
      reply: reply(
        text(`The test "${bug.test}" fails because of \`${bug.buggy}\`. Fixing it.`),
        tool(EDIT_TOOL, { command: 'str_replace', path: bug.file, old_str: bug.buggy, new_str: bug.fixed }),
      ),
    };
  }
  // After an edit (or anything else), check the result by running the tests again.
  return {
    kind: 'reply',
    reply: reply(text('Re-running the tests.'), tool('bash', { command: testCommand })),
  };
}
