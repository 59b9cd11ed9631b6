import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveSecretScanner } from '../../worker/environment/archive-secret-scanner.js';
import { captureEnvironment } from '../../worker/environment/snapshot-archive.js';
import type { Sandbox, SandboxProcess } from '../../worker/sandbox/sandbox.js';
import { makeTmp } from '../workspace/fixtures.js';

const SECRET = 'npm_gz1pS3cretT0kenValue42';

/** A tar (made by the system's tar, as the sandbox makes them) of the files given. */
function tarOf(dir: string, files: Record<string, Buffer | string>): Buffer {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return execFileSync('tar', ['-c', '-f', '-', '-C', dir, ...Object.keys(files)], { maxBuffer: 64 << 20 });
}

async function scan(archive: Buffer, chunk = 4096, maxInflatedBytes?: number) {
  const scanner = new ArchiveSecretScanner([SECRET], maxInflatedBytes ? { maxInflatedBytes } : {});
  const passed: Buffer[] = [];
  scanner.on('data', (b: Buffer) => passed.push(b));
  for (let i = 0; i < archive.length; i += chunk) {
    if (!scanner.write(archive.subarray(i, i + chunk))) await new Promise((r) => scanner.once('drain', r));
  }
  scanner.end();
  await new Promise((r) => scanner.on('end', r));
  // The archive passes through unchanged.
  expect(Buffer.concat(passed).equals(archive)).toBe(true);
  return scanner;
}

/**
 * Issue 17: a snapshot holding a setup secret is not kept, including a secret stored
 * compressed (a `.gz` or `.tgz` in a cache), which the raw bytes do not show.
 */
describe('ArchiveSecretScanner', () => {
  let tmp: Awaited<ReturnType<typeof makeTmp>>;
  let n = 0;
  const dir = () => join(tmp.dir, `a${++n}`);
  beforeAll(async () => {
    tmp = await makeTmp('pw-scan-');
  });
  afterAll(async () => {
    await tmp?.cleanup();
  });

  it('finds a secret inside a gzip file and inside a file of a .tgz, at any chunking', async () => {
    const gz = gzipSync(Buffer.from(`{"registry":"x","token":"${SECRET}"}\n`));
    const inner = tarOf(dir(), {
      '.npmrc': `//registry/:_authToken=${Buffer.from(SECRET).toString('base64')}\n`,
    });
    const tgz = gzipSync(inner);
    for (const archive of [
      tarOf(dir(), { 'readme.txt': 'hello', 'auth.json.gz': gz }),
      tarOf(dir(), { 'a.bin': Buffer.alloc(1000, 7), 'pkg-1.0.0.tgz': tgz }),
    ]) {
      // The raw bytes do not show it: only the decompressed content does.
      expect(archive.includes(Buffer.from(SECRET))).toBe(false);
      for (const chunk of [1 << 16, 511, 7]) expect((await scan(archive, chunk)).found).toBe(true);
    }
  });

  it('finds nothing in clean archives, compressed or not, and ignores broken gzip data', async () => {
    const archive = tarOf(dir(), {
      'plain.txt': 'no secrets here',
      'data.gz': gzipSync(Buffer.from('nothing to see '.repeat(1000))),
      'fake.gz': Buffer.from([0x1f, 0x8b, 0x08, 1, 2, 3, 4, 5, 6, 7]),
      'big.bin': Buffer.alloc(5000, 1),
    });
    const scanner = await scan(archive, 1000);
    expect(scanner.found).toBe(false);
    expect(scanner.unscannable).toBeNull();
  });

  it('still finds raw secrets anywhere in the stream', async () => {
    const archive = tarOf(dir(), { 'log.txt': `token=${SECRET}` });
    expect((await scan(archive, 3)).found).toBe(true);
  });

  it('refuses to keep what it could not scan: compressed content past the bound', async () => {
    const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024));
    const scanner = await scan(tarOf(dir(), { 'bomb.gz': bomb }), 1 << 16, 1024 * 1024);
    expect(scanner.unscannable).toMatch(/compressed content/);
  });

  it('captureEnvironment does not keep an archive whose gzip content holds a setup secret', async () => {
    const archive = tarOf(dir(), { 'cache.json.gz': gzipSync(Buffer.from(`token: ${SECRET}`)) });
    const proc = (): SandboxProcess => {
      const stdin = new PassThrough();
      stdin.resume();
      return {
        stdin,
        stdout: Readable.from([archive]),
        stderr: Readable.from([]),
        exited: Promise.resolve(0),
        kill: async () => undefined,
      };
    };
    const box = { spawn: async () => proc() } as unknown as Sandbox;
    const files = { workspaceTar: join(tmp.dir, 'ws.tar'), homeTar: join(tmp.dir, 'home.tar') };
    const result = await captureEnvironment(box, files, { maxBytes: 1 << 30, secrets: [SECRET] });
    expect(result).toMatchObject({ ok: false, reason: 'secret' });
    // Without the secret among the setup secrets the same archive is kept.
    const kept = await captureEnvironment(box, files, { maxBytes: 1 << 30, secrets: ['other-value-123'] });
    expect(kept).toMatchObject({ ok: true });
    expect(readFileSync(files.workspaceTar).equals(archive)).toBe(true);
  });
});
