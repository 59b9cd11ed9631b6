import { describe, expect, it } from 'vitest';
import { PullwrightError } from '../../src/errors.js';
import { costOf, parsePriceOverrides, priceOf } from '../../worker/model/pricing.js';

describe('priceOf', () => {
  it('matches the longest listed prefix, so dated ids get their model price', () => {
    expect(priceOf('claude-opus-4-5-20251101')).toEqual({ input: 5, output: 25 });
    expect(priceOf('claude-opus-4-1-20250805')).toEqual({ input: 15, output: 75 });
    expect(priceOf('claude-sonnet-4-5')).toEqual({ input: 3, output: 15 });
    expect(priceOf('claude-haiku-4-5-20251001')).toEqual({ input: 1, output: 5 });
  });

  it('prices an unlisted model by family, and an unknown one at the highest price', () => {
    expect(priceOf('claude-sonnet-5-5')).toEqual({ input: 3, output: 15 });
    expect(priceOf('some-gateway-model')).toEqual({ input: 15, output: 75 });
  });

  it('lets overrides replace or add entries', () => {
    const overrides = parsePriceOverrides(
      '{"claude-sonnet-4-5":{"input":2,"output":9},"local-llm":{"input":0,"output":0}}',
    );
    expect(priceOf('claude-sonnet-4-5', overrides)).toEqual({ input: 2, output: 9 });
    expect(priceOf('local-llm', overrides)).toEqual({ input: 0, output: 0 });
    expect(parsePriceOverrides(undefined)).toEqual({});
  });

  it('rejects bad overrides with config_invalid', () => {
    for (const bad of ['{not json', '{"m":{"input":-1,"output":1}}', '{"m":{"input":1}}']) {
      try {
        parsePriceOverrides(bad);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(PullwrightError);
        expect((err as PullwrightError).code).toBe('config_invalid');
      }
    }
  });
});

describe('costOf', () => {
  it('applies the cache multipliers: reads 0.1x, 5 min writes 1.25x, 1 h writes 2x', () => {
    const m = 'claude-sonnet-4-5'; // $3 in, $15 out per MTok
    expect(costOf({ input: 1_000_000, output: 0, cacheRead: 0, cacheWrite: 0 }, m)).toBeCloseTo(3, 9);
    expect(costOf({ input: 0, output: 1_000_000, cacheRead: 0, cacheWrite: 0 }, m)).toBeCloseTo(15, 9);
    expect(costOf({ input: 0, output: 0, cacheRead: 1_000_000, cacheWrite: 0 }, m)).toBeCloseTo(0.3, 9);
    expect(costOf({ input: 0, output: 0, cacheRead: 0, cacheWrite: 1_000_000 }, m)).toBeCloseTo(3.75, 9);
    expect(
      costOf({ input: 0, output: 0, cacheRead: 0, cacheWrite: 1_000_000, cacheWrite1h: 400_000 }, m),
    ).toBeCloseTo(0.6 * 3.75 + 0.4 * 6, 9);
  });

  it('sums all parts', () => {
    const cost = costOf(
      { input: 10_000, output: 2_000, cacheRead: 100_000, cacheWrite: 5_000 },
      'claude-haiku-4-5',
    );
    expect(cost).toBeCloseTo((10_000 + 2_000 * 5 + 100_000 * 0.1 + 5_000 * 1.25) / 1_000_000, 12);
  });
});
