import { beforeAll, describe, expect, it } from 'vitest';
import { sanitizeUntrusted } from '../../src/domain/sanitize-untrusted.js';

/**
 * Issue 14 item 10: the regex sanitizer was quadratic (about 2.5 s of CPU on 60 kB of `![`).
 * Bounds are on this process's CPU time, so other work on a busy machine does not count,
 * and generous: measured around 0.1–0.3 s per 60 kB case on a loaded 2-core machine.
 */
function cpuMs(run: () => void): number {
  const before = process.cpuUsage();
  run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

const PATHOLOGICAL: Record<string, (size: number) => string> = {
  'image openers `![`': (n) => '!['.repeat(n / 2),
  'bracket openers `[`': (n) => '['.repeat(n),
  'nested brackets': (n) => `${'['.repeat(n / 2)}${']'.repeat(n / 2)}`,
  'nested image brackets': (n) => `${'!['.repeat(n / 4)}${']'.repeat(n / 4)}`,
  'unclosed comments `<!--`': (n) => '<!--'.repeat(n / 4),
  'unclosed comments in paragraphs': (n) => 'a <!-- b\n\n'.repeat(n / 10),
  backticks: (n) => '`'.repeat(n),
  'backtick runs': (n) => '`a'.repeat(n / 2),
  'emphasis delimiters': (n) => '*a'.repeat(n / 2),
  'unclosed tags': (n) => '<a '.repeat(n / 3),
  'unclosed attribute quotes': (n) => '<a b="'.repeat(n / 6),
  'nested hidden elements': (n) => '<div hidden>'.repeat(n / 12),
  'unclosed link destinations': (n) => '[a]('.repeat(n / 4),
  'processing instructions `<?`': (n) => '<?'.repeat(n / 2),
  'reference definitions': (n) => '[a]: b\n'.repeat(n / 7),
  'wide table rows': (n) => `${'|a'.repeat(n / 8)}\n${'|-'.repeat(n / 8)}\n${'|![a](b)'.repeat(n / 32)}`,
  'phantom openers': (n) => '\\phantom{'.repeat(n / 9),
};

describe('sanitizeUntrusted: linear time on pathological input', () => {
  // The first call builds the parser and warms the JIT; that is not what is measured.
  beforeAll(() => {
    sanitizeUntrusted('# warm\n\n![a](b "c") `d` <span hidden>e</span> [^1]\n\n[^1]: f');
  });

  it.each(Object.entries(PATHOLOGICAL))('60 kB of %s in well under a second', (_name, make) => {
    const input = make(60_000);
    expect(cpuMs(() => sanitizeUntrusted(input))).toBeLessThan(1000);
  });

  it('1 MB of `![` finishes in seconds, not hours', () => {
    expect(cpuMs(() => sanitizeUntrusted('!['.repeat(500_000)))).toBeLessThan(10_000);
  });
});
