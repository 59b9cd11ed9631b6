import type { Scenario } from '../types.js';
import { textOf } from './helpers.js';

/** The default: answers the last user message with a short text and `end_turn`; never calls tools. */
export const echoScenario: Scenario = {
  name: 'echo',
  description: 'Replies "twin echo: <last user text>" and stops.',
  respond(request) {
    const last = request.messages.at(-1);
    const said = last ? textOf(last.content).slice(0, 200) : '';
    return { content: [{ type: 'text', text: `twin echo: ${said}` }], stopReason: 'end_turn' };
  },
};
