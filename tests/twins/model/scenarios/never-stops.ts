import type { Scenario } from '../types.js';
import { reply, text, tool } from './helpers.js';

/** Calls a tool on every turn and never finishes: only the harness's budget can end it. */
export const neverStopsScenario: Scenario = {
  name: 'never-stops',
  description: 'Keeps calling bash forever (tests turn, token and time budgets).',
  respond(_request, ctx) {
    const call = tool('bash', { command: `echo still working, turn ${ctx.turn}` });
    return ctx.turn % 5 === 1 ? reply(text('Still investigating.'), call) : reply(call);
  },
};
