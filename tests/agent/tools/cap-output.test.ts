import { describe, expect, it } from 'vitest';
import { capOutput } from '../../../worker/agent/tools/cap-output.js';

describe('capOutput', () => {
  it('returns short text unchanged', () => {
    expect(capOutput('a\nb', { maxBytes: 100, maxLines: 10 })).toBe('a\nb');
  });

  it('keeps head and tail lines with an exact marker', () => {
    const text = Array.from({ length: 100 }, (_, i) => `line${i + 1}`).join('\n');
    const out = capOutput(text, { maxBytes: 10_000, maxLines: 10 });
    const lines = out.split('\n');
    expect(lines.slice(0, 5)).toEqual(['line1', 'line2', 'line3', 'line4', 'line5']);
    expect(lines.slice(-5)).toEqual(['line96', 'line97', 'line98', 'line99', 'line100']);
    expect(lines[5]).toMatch(/^\[\.\.\. 90 lines \(\d+ B\) cut \.\.\.\]$/);
  });

  it('caps bytes for a few enormous lines and never splits a character', () => {
    const text = `${'é'.repeat(5000)}\n${'ü'.repeat(5000)}`;
    const out = capOutput(text, { maxBytes: 1001, maxLines: 100 });
    expect(Buffer.byteLength(out)).toBeLessThan(1100);
    expect(out).not.toContain('\uFFFD');
    expect(out.startsWith('é')).toBe(true);
    expect(out.endsWith('ü')).toBe(true);
    expect(out).toMatch(/\n\[\.\.\. \d+\.\d KB cut \.\.\.\]\n/);
  });
});
