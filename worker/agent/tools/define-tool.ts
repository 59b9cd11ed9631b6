import { z } from 'zod';
import { redactText } from '../../../src/logger.js';
import type { Tool, ToolContext, ToolResult } from '../tool.js';

/**
 * Builds a Tool from a zod schema: the JSON Schema the model sees is derived from the
 * same schema the loop validates with, so the two never drift. A throw inside `run`
 * becomes an error result: tools report failure as data, never into the loop.
 */
export function defineTool<S extends z.ZodType>(spec: {
  name: string;
  description: string;
  input: S;
  run(input: z.infer<S>, ctx: ToolContext): Promise<ToolResult>;
}): Tool<z.infer<S>> {
  const json = z.toJSONSchema(spec.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return {
    name: spec.name,
    description: spec.description,
    input: spec.input as z.ZodType<z.infer<S>>,
    inputJsonSchema: json,
    async run(input, ctx) {
      try {
        return await spec.run(input, ctx);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        ctx.log.warn({ tool: spec.name, err }, 'Tool failed');
        return { content: `Error: ${redactText(message)}`, isError: true };
      }
    },
  };
}

/** An error result: the text tells the model what went wrong and, where it can, how to fix it. */
export function toolError(message: string): ToolResult {
  return { content: `Error: ${message}`, isError: true };
}
