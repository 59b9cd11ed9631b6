import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Env } from '../../src/config/env.js';

describe('README configuration table', () => {
  it('documents every variable the loader accepts', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    const missing = Object.keys(Env.shape).filter((name) => !readme.includes(`| \`${name}\``));
    expect(missing).toEqual([]);
  });
});
