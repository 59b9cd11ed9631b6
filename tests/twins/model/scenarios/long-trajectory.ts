import type {
  MessagesRequest,
  Scenario,
  ScenarioContext,
  ScriptedBlock,
  ScriptedReply,
  TestCommand,
} from '../types.js';
import { EDIT_TOOL, fixLoopStep, isTestRun, TEST_COMMAND, testCommandWith } from './fix-loop.js';
import {
  assistantTurns,
  finish,
  lastExchange,
  planUpdate,
  reply,
  testOutcome,
  text,
  tool,
  toolExchanges,
} from './helpers.js';

const v = (path: string) => tool(EDIT_TOOL, { command: 'view', path });
const sh = (command: string) => tool('bash', { command });

/** Exploration before touching anything; several outputs are large on purpose. */
const EXPLORE: ScriptedBlock[][] = [
  [
    text('A larger repository. I will explore it before changing anything.'),
    planUpdate([
      ['Explore the repository', 'in_progress'],
      ['Fix the failing tests', 'pending'],
      ['Write notes and verify', 'pending'],
    ]),
  ],
  [tool('list_files', { path: '.', depth: 3 })],
  [sh('cat package.json')],
  [v('README.md')],
  [sh("find / -maxdepth 3 -not -path '/proc/*' -not -path '/sys/*' 2>/dev/null")],
  [sh('node --version && npm --version')],
  [sh('wc -c data/records.json && cat data/records.json')],
  [tool('search', { pattern: 'function ', path: 'src' })],
  [v('src/index.js')],
  [v('src/records.js')],
  [v('src/strings.js')],
  [v('test/math.test.js')],
  [sh('cat test/strings.test.js')],
  [v('test/records.test.js')],
  [sh('node scripts/report.js')],
  [tool('search', { pattern: 'average', glob: '*.js' })],
  [sh('grep -rn "require(" src test scripts')],
];

/** After the tests pass: more reading, a notes file, a verbose test run. */
const wrapUp = (testCommand: TestCommand): ScriptedBlock[][] => [
  [
    planUpdate([
      ['Explore the repository', 'completed'],
      ['Fix the failing tests', 'completed'],
      ['Write notes and verify', 'in_progress'],
    ]),
  ],
  [sh(testCommandWith(testCommand, '--test-reporter=spec'))],
  [v('src/math.js')],
  [tool('search', { pattern: 'TODO|FIXME' })],
  [
    tool(EDIT_TOOL, {
      command: 'create',
      path: 'docs/NOTES.md',
      file_text:
        '# Notes\n\n- `average` divided by one less than the number of values.\n- `add` subtracted.\n',
    }),
  ],
  [v('docs/NOTES.md')],
  [sh('ls -la src test data scripts')],
  [sh(`node -e "const r = require('./src/records.js'); console.log(r.activeMeanScore(r.loadRecords()))"`)],
  [tool('list_files', { path: 'src' })],
  [sh('head -n 400 data/records.json')],
  [
    tool(EDIT_TOOL, {
      command: 'str_replace',
      path: 'README.md',
      old_str: 'Run `npm test`.',
      new_str: 'Run `npm test`. See docs/NOTES.md for known pitfalls.',
    }),
  ],
  [sh(testCommand)],
  [
    planUpdate([
      ['Explore the repository', 'completed'],
      ['Fix the failing tests', 'completed'],
      ['Write notes and verify', 'completed'],
    ]),
  ],
];

function next(request: MessagesRequest, ctx: ScenarioContext): ScriptedReply {
  const testCommand = ctx.testCommand ?? TEST_COMMAND;
  const turn = assistantTurns(request);
  if (turn < EXPLORE.length) return reply(...EXPLORE[turn]!);
  const step = fixLoopStep(request, 6, testCommand);
  if (step.kind === 'reply') return step.reply;
  if (step.kind === 'gave-up') return finish(`Gave up: ${step.reason}.`);
  // Index into the wrap-up counted from the turn that saw the first passing test run.
  const all = toolExchanges(request);
  const firstPass = all.find((e) => isTestRun(e) && e.result && testOutcome(e.result.text) !== 'fail');
  const index = firstPass ? turn - firstPass.assistantTurn - 1 : 0;
  const steps = wrapUp(testCommand);
  if (index < steps.length) return reply(...steps[index]!);
  const finalRun = lastExchange(all, 'bash', isTestRun);
  const passing = finalRun?.result && testOutcome(finalRun.result.text) !== 'fail';
  return finish(
    `Explored the repository, fixed ${step.fixed.length} bug(s), wrote docs/NOTES.md; tests ${passing ? 'pass' : 'fail'}.`,
  );
}

/** About 40 turns on writeLongTrajectoryRepo, with several large outputs: the token benchmark's workload. */
export const longTrajectoryScenario: Scenario = {
  name: 'long-trajectory',
  description:
    'About 40 turns on the long-trajectory repo: exploration with large outputs, the fix loop, notes and a verbose test run.',
  respond: next,
};
