import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveScreenshot, visibleText, withPage } from './chromium.js';

describe('browser test infrastructure', () => {
  let server: ReturnType<typeof createServer>;
  let url = '';
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(
        '<!doctype html><title>probe</title><p id="p">static</p><script>document.getElementById("p").textContent = "scripted " + navigator.userAgent.includes("HeadlessChrome");</script>',
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('drives Debian Chromium (scripts run) and keeps a screenshot as an artifact', async () => {
    await withPage(async (page, browser) => {
      expect(await browser.version()).toMatch(/Chrome\/\d+/);
      await page.goto(url);
      expect(await visibleText(page)).toBe('scripted true');
      const path = await saveScreenshot(page, 'infra-probe');
      expect(existsSync(path)).toBe(true);
      await rm(path);
    });
  });
});
