import type { Scenario, ScriptedBlock } from '../types.js';
import { fixFailingTestScenario } from './fix-failing-test.js';
import { heavyTrajectoryScenario } from './heavy-trajectory.js';
import { longTrajectoryScenario } from './long-trajectory.js';
import { memoryClearingScenario } from './memory-clearing.js';

/**
 * A scenario that thinks the way current models do: every reply starts with a
 * thinking block, every third reply also carries a redacted_thinking block, and a
 * reply with several tool calls thinks again between them (interleaved thinking).
 * The visible content is the base scenario's, so only the thinking is new.
 */
export function withThinking(base: Scenario, name = `${base.name}-thinking`): Scenario {
  return {
    name,
    description: `${base.description} Thinks before each reply, sometimes redacted, and between tool calls.`,
    async respond(request, ctx) {
      const reply = await base.respond(request, ctx);
      const content: ScriptedBlock[] = [
        {
          type: 'thinking',
          thinking:
            `Turn ${ctx.turn}: reading what the last step returned, then choosing the next one. `.repeat(3),
        },
      ];
      if (ctx.turn % 3 === 0) content.push({ type: 'redacted_thinking' });
      let tools = 0;
      for (const block of reply.content) {
        if (block.type === 'tool_use' && tools > 0)
          content.push({ type: 'thinking', thinking: `Between tool calls on turn ${ctx.turn}.` });
        if (block.type === 'tool_use') tools += 1;
        content.push(block);
      }
      return { ...reply, content };
    },
  };
}

export const fixFailingTestThinkingScenario = withThinking(fixFailingTestScenario);
export const longTrajectoryThinkingScenario = withThinking(longTrajectoryScenario);
export const heavyTrajectoryThinkingScenario = withThinking(heavyTrajectoryScenario);
export const memoryClearingThinkingScenario = withThinking(memoryClearingScenario);
