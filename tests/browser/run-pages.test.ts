import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PagesHarness, recordDemoRun, signIn, startPagesHarness } from '../runs/pages-harness.js';
import { saveScreenshot, visibleText, withPage } from './chromium.js';

/**
 * The run pages in Debian's Chromium: sign in through the GitHub twin's OAuth
 * pages, read a finished run, watch one live, be refused, and stop one.
 */
let h: PagesHarness;

beforeAll(async () => {
  h = await startPagesHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('run pages in a real browser', () => {
  it('signs in with GitHub (the twin) and shows a finished run: plan, steps, diff', async () => {
    const recorder = h.recorder();
    await recordDemoRun(recorder);
    await withPage(
      async (page) => {
        const url = `${h.app.url}/runs/${recorder.runId}`;
        await signIn(page, url, 'bob', h.tokens.bob);
        expect(page.url()).toBe(url);
        const text = await visibleText(page);
        expect(text).toContain('Add a greeting function');
        expect(text).toContain('succeeded');
        expect(text).toContain('Add src/greet.ts with greet()');
        expect(text).toContain('$ npm test');
        expect(text).toContain('Delivered change');
        expect(text).toContain('Hello, $' + '{name}!');
        expect(await page.$$eval('ul.plan input:checked', (els) => els.length)).toBe(3);
        expect(await page.$$eval('pre.diff .add', (els) => els.length)).toBeGreaterThan(2);
        // A reader sees no Stop button (and this run is finished anyway).
        expect(await page.$('#stop')).toBeNull();
        await saveScreenshot(page, 'run-page');
        // Loaded again (the rendered body is kept for a finished run): the same run.
        await page.reload();
        expect(await visibleText(page)).toContain('Add src/greet.ts with greet()');
        // The repository's runs page lists it with the month's totals.
        await page.goto(`${h.app.url}/repos/acme/widgets/runs`);
        const list = await visibleText(page);
        expect(list).toContain('Add a greeting function');
        expect(list).toMatch(/Cost this month \$0\.04/);
        expect(list).toContain('of $25.00');
      },
      { width: 1100, height: 1400 },
    );
  });

  it('shows a long output by its start and end, the whole of it one click away', async () => {
    const recorder = h.recorder();
    const long = `FIRST-LINE\n${'middle of the output\n'.repeat(400)}LAST-LINE`;
    await recordDemoRun(recorder, { toolOutput: long });
    await withPage(
      async (page) => {
        await signIn(page, `${h.app.url}/runs/${recorder.runId}`, 'bob', h.tokens.bob);
        const html = await page.content();
        expect(html).toContain('FIRST-LINE');
        expect(html).toContain('LAST-LINE');
        expect(html.split('middle of the output').length - 1).toBeLessThan(120);
        // The command's output is folded: unfold it like a reader, then follow the link.
        await page.click('li.command:has(p.more) summary');
        const link = await page.$('p.more a');
        expect(link).not.toBeNull();
        await Promise.all([page.waitForNavigation(), link?.click()]);
        expect(page.url()).toMatch(/\/runs\/r_[\w-]+\/entries\/\d+$/);
        const full = await page.content();
        expect(full.split('middle of the output').length - 1).toBe(400);
        await saveScreenshot(page, 'run-page-phone-entry');
      },
      { width: 390, height: 800 },
    );
  });
});
