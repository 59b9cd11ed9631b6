import type { Scenario } from '../types.js';
import { TEST_COMMAND } from './fix-loop.js';
import { assistantTurns, finish, reply, text, tool, toolExchanges } from './helpers.js';

/**
 * Sends two tool calls with invalid input (a wrong type, a missing field), reads the
 * error results and sends corrected calls. The finish summary says whether both bad
 * calls came back as errors (`is_error: true`), so tests can assert on it.
 */
export const malformedToolInputScenario: Scenario = {
  name: 'malformed-tool-input',
  description:
    'Sends invalid tool input first (bash command as an array, view without path), then corrects itself.',
  respond(request, ctx) {
    const testCommand = ctx.testCommand ?? TEST_COMMAND;
    const turn = assistantTurns(request);
    const all = toolExchanges(request);
    const rejected = (assistantTurn: number) =>
      all.some((e) => e.assistantTurn === assistantTurn && e.result?.isError === true);
    switch (turn) {
      case 0:
        return reply(
          text('Running the tests.'),
          tool('bash', { command: testCommand.split(' '), timeout_ms: 'soon' }),
        );
      case 1:
        return reply(
          text(
            rejected(0)
              ? 'The bash tool rejected my input: command must be a string. Retrying.'
              : 'That call should have been rejected; retrying with valid input anyway.',
          ),
          tool('bash', { command: testCommand }),
        );
      case 2:
        return reply(text('Let me view the code.'), tool('str_replace_based_edit_tool', { command: 'view' }));
      case 3:
        return reply(
          text(rejected(2) ? 'I forgot the path. Retrying.' : 'Retrying with a path.'),
          tool('str_replace_based_edit_tool', { command: 'view', path: 'src/math.js' }),
        );
      default: {
        const both = rejected(0) && rejected(2);
        const corrected = all.filter((e) => e.assistantTurn === 1 || e.assistantTurn === 3);
        const correctedOk = corrected.length === 2 && corrected.every((e) => e.result && !e.result.isError);
        return finish(
          `${both ? 'Both malformed calls were reported as tool errors' : 'WARNING: a malformed call was not reported as an error'}; ` +
            `${correctedOk ? 'the corrected calls succeeded' : 'a corrected call failed'}.`,
        );
      }
    }
  },
};
