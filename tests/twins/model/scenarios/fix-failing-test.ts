import type { Scenario } from '../types.js';
import { fixLoopStep, isTestRun, TEST_COMMAND } from './fix-loop.js';
import { finish, lastExchange, planUpdate, reply, text, tool, toolExchanges } from './helpers.js';

/**
 * Runs the tests of the sample repo, reads the failure, fixes the bug with
 * str_replace, re-runs the tests and tries again while they fail, then completes
 * the plan and finishes.
 */
export const fixFailingTestScenario: Scenario = {
  name: 'fix-failing-test',
  description:
    'Fixes the failing tests of the sample repo (writeFixFailingTestRepo), adapting to test output.',
  respond(request, ctx) {
    const testCommand = ctx.testCommand ?? TEST_COMMAND;
    const all = toolExchanges(request);
    if (all.length === 0) {
      return reply(
        text('I will run the tests, fix what fails, and check again.'),
        planUpdate([
          ['Run the tests', 'in_progress'],
          ['Fix the failing code', 'pending'],
          ['Re-run the tests', 'pending'],
        ]),
        tool('bash', { command: testCommand }),
      );
    }
    const step = fixLoopStep(request, 4, testCommand);
    if (step.kind === 'reply') return step.reply;
    if (step.kind === 'gave-up') return finish(`Could not make the tests pass: ${step.reason}.`);
    const lastTest = lastExchange(all, 'bash', isTestRun)!;
    const planned = all.slice(all.indexOf(lastTest) + 1).some((e) => e.name === 'update_plan');
    if (!planned) {
      return reply(
        text('All tests pass now.'),
        planUpdate([
          ['Run the tests', 'completed'],
          ['Fix the failing code', 'completed'],
          ['Re-run the tests', 'completed'],
        ]),
      );
    }
    return finish(
      `Fixed ${step.fixed.length} bug(s) in src/math.js (${step.fixed.map((s) => `\`${s}\``).join(', ')}); all tests pass.`,
    );
  },
};
