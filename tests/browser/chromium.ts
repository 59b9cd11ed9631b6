import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/**
 * The one way browser tests start a browser: Debian's Chromium (installed by `scripts/services.sh`)
 * driven by puppeteer-core, which never downloads a browser of its own. Screenshots go to
 * `tests/browser/artifacts/` (git-ignored; CI keeps the folder as an artifact).
 */

export const CHROMIUM_PATH = process.env.PULLWRIGHT_CHROMIUM ?? '/usr/bin/chromium';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS_DIR = join(ROOT, 'tests', 'browser', 'artifacts');

export interface LaunchOptions {
  /** Viewport width in CSS pixels (default 1280). A phone-sized check uses ~390. */
  width?: number;
  height?: number;
}

/**
 * Starts a headless Chromium. `--no-sandbox` only when running as root, where Chromium refuses to
 * start with its sandbox (CI containers); as any other user its sandbox stays on.
 */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(`Chromium is missing at ${CHROMIUM_PATH}: run \`bash scripts/services.sh up\``);
  const args = ['--disable-gpu', '--no-first-run', '--no-default-browser-check', '--disable-extensions'];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  return puppeteer.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args,
    defaultViewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    // Our own temp profile per launch; puppeteer removes it on close.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
}

/** Runs `fn` with a fresh browser and page, and always closes the browser. */
export async function withPage<T>(
  fn: (page: Page, browser: Browser) => Promise<T>,
  options: LaunchOptions = {},
): Promise<T> {
  const browser = await launchChromium(options);
  try {
    const page = await browser.newPage();
    // A page's uncaught script error fails loudly in the test output instead of passing silently.
    page.on('pageerror', (err) => {
      process.stderr.write(`[browser pageerror] ${err instanceof Error ? err.message : String(err)}\n`);
    });
    return await fn(page, browser);
  } finally {
    await browser.close();
  }
}

/** Saves a full-page PNG under tests/browser/artifacts/<name>.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-');
  const path = join(ARTIFACTS_DIR, `${safe}.png`);
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: path as `${string}.png`, fullPage: true });
  return path;
}

/** The page's visible text, whitespace collapsed (for assertions on what a person reads). */
export async function visibleText(page: Page): Promise<string> {
  // A string expression: the project compiles without the DOM library.
  const text = String(await page.evaluate('document.body.innerText'));
  return text.replace(/\s+/g, ' ').trim();
}
