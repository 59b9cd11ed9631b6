import { z } from 'zod';
import { PullwrightError } from '../../src/errors.js';
import type { Usage } from './model.js';

/**
 * USD per million tokens. Cache multipliers follow Anthropic's published rules:
 * a 5 min cache write costs 1.25x input, a 1 h write 2x, a cache read 0.1x.
 */
export const ModelPrice = z.object({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
});
export type ModelPrice = z.infer<typeof ModelPrice>;

export const PriceTable = z.record(z.string().min(1), ModelPrice);
export type PriceTable = z.infer<typeof PriceTable>;

export const CACHE_WRITE_5M_MULTIPLIER = 1.25;
export const CACHE_WRITE_1H_MULTIPLIER = 2;
export const CACHE_READ_MULTIPLIER = 0.1;

/** List prices of current Claude models (USD / MTok). Keys match by prefix, longest first. */
export const DEFAULT_PRICES: PriceTable = {
  'claude-opus-4-5': { input: 5, output: 25 },
  'claude-opus-4-1': { input: 15, output: 75 },
  'claude-opus-4': { input: 15, output: 75 },
  'claude-sonnet-4-5': { input: 3, output: 15 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'claude-3-7-sonnet': { input: 3, output: 15 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
};

/** For names not in the table (newer dated or aliased models): the family's current price. */
const FAMILY_PRICES: [string, ModelPrice][] = [
  ['opus', { input: 5, output: 25 }],
  ['sonnet', { input: 3, output: 15 }],
  ['haiku', { input: 1, output: 5 }],
];

/** Parses a JSON override such as `{"my-model":{"input":2,"output":8}}`; entries replace defaults. */
export function parsePriceOverrides(json: string | undefined): PriceTable {
  if (json === undefined || json.trim() === '') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new PullwrightError('config_invalid', 'Model price overrides are not valid JSON', {
      retryable: false,
    });
  }
  const parsed = PriceTable.safeParse(raw);
  if (!parsed.success) {
    throw new PullwrightError(
      'config_invalid',
      `Model price overrides are invalid: ${parsed.error.message}`,
      {
        retryable: false,
      },
    );
  }
  return parsed.data;
}

export function priceOf(model: string, overrides: PriceTable = {}): ModelPrice {
  const table = { ...DEFAULT_PRICES, ...overrides };
  if (table[model]) return table[model];
  const prefix = Object.keys(table)
    .filter((k) => model.startsWith(k))
    .sort((a, b) => b.length - a.length)[0];
  if (prefix) return table[prefix] as ModelPrice;
  const family = FAMILY_PRICES.find(([f]) => model.includes(f));
  // An unknown model is priced like the most expensive family so cost budgets err on the safe side.
  return family ? family[1] : { input: 15, output: 75 };
}

/** Cost in USD of one call's (or a run's) usage. */
export function costOf(usage: Usage, model: string, overrides: PriceTable = {}): number {
  const price = priceOf(model, overrides);
  const write1h = Math.min(usage.cacheWrite1h ?? 0, usage.cacheWrite);
  const write5m = usage.cacheWrite - write1h;
  const inputEquivalent =
    usage.input +
    usage.cacheRead * CACHE_READ_MULTIPLIER +
    write5m * CACHE_WRITE_5M_MULTIPLIER +
    write1h * CACHE_WRITE_1H_MULTIPLIER;
  return (inputEquivalent * price.input + usage.output * price.output) / 1_000_000;
}
