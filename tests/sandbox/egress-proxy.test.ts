import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/logger.js';
import { EgressProxy, isAllowed, parseAllowRule } from '../../worker/sandbox/egress-proxy.js';

describe('allowlist rules', () => {
  it('parses hosts, ports, IPv6 and wildcards', () => {
    expect(parseAllowRule('Registry.NPMJS.org')).toEqual({
      host: 'registry.npmjs.org',
      port: undefined,
      wildcard: false,
    });
    expect(parseAllowRule('example.com:8443')).toEqual({ host: 'example.com', port: 8443, wildcard: false });
    expect(parseAllowRule('*.debian.org')).toEqual({ host: 'debian.org', port: undefined, wildcard: true });
    expect(parseAllowRule('[::1]:80')).toEqual({ host: '::1', port: 80, wildcard: false });
  });

  it('matches exact hosts, ports and subdomains only', () => {
    const rules = ['registry.npmjs.org', 'example.com:8443', '*.debian.org'].map(parseAllowRule);
    expect(isAllowed(rules, 'registry.npmjs.org', 443)).toBe(true);
    expect(isAllowed(rules, 'REGISTRY.npmjs.org', 80)).toBe(true);
    expect(isAllowed(rules, 'evil-registry.npmjs.org', 443)).toBe(false);
    expect(isAllowed(rules, 'registry.npmjs.org.evil.com', 443)).toBe(false);
    expect(isAllowed(rules, 'example.com', 8443)).toBe(true);
    expect(isAllowed(rules, 'example.com', 443)).toBe(false);
    expect(isAllowed(rules, 'deb.debian.org', 80)).toBe(true);
    expect(isAllowed(rules, 'debian.org', 80)).toBe(false);
    expect(isAllowed(rules, 'notdebian.org', 80)).toBe(false);
  });
});

/** Sends raw HTTP over the proxy's unix socket, as the in-sandbox relay would. */
function viaSocket(socketPath: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    let data = '';
    s.on('data', (c) => {
      data += c.toString();
    });
    s.on('end', () => resolve(data));
    s.on('error', reject);
    s.write(request);
    setTimeout(() => s.end(), 500);
  });
}

describe('EgressProxy over its unix socket', () => {
  let dir: string;
  let proxy: EgressProxy;
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pw-egress-test-'));
    server = http.createServer((req, res) => res.end(`hello ${req.url}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    // The test server is on loopback, which the proxy refuses unless the operator opts it in.
    proxy = new EgressProxy(join(dir, 'box'), createSilentLogger(), { allowedRanges: ['127.0.0.1/32'] });
    proxy.setAllowlist([`127.0.0.1:${port}`]);
    await proxy.start();
  });

  afterAll(async () => {
    await proxy.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('forwards allowed HTTP and CONNECT, refuses and records the rest', async () => {
    const ok = await viaSocket(
      proxy.socketPath,
      `GET http://127.0.0.1:${port}/x HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
    );
    expect(ok).toMatch(/^HTTP\/1\.1 200/);
    expect(ok).toContain('hello /x');
    const tunnel = await viaSocket(
      proxy.socketPath,
      `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\nGET /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(tunnel).toMatch(/^HTTP\/1\.1 200 Connection Established/);
    expect(tunnel).toContain('hello /t');
    const denied = await viaSocket(
      proxy.socketPath,
      'GET http://example.invalid/ HTTP/1.1\r\nHost: example.invalid\r\nConnection: close\r\n\r\n',
    );
    expect(denied).toMatch(/^HTTP\/1\.1 403/);
    const deniedConnect = await viaSocket(
      proxy.socketPath,
      'CONNECT 10.0.0.1:22 HTTP/1.1\r\nHost: 10.0.0.1:22\r\n\r\n',
    );
    expect(deniedConnect).toMatch(/^HTTP\/1\.1 403/);
    expect(proxy.blockedConnections().map((b) => `${b.host}:${b.port}`)).toEqual([
      'example.invalid:80',
      '10.0.0.1:22',
    ]);
  });

  it('refuses everything once the allowlist is emptied', async () => {
    proxy.setAllowlist([]);
    const r = await viaSocket(
      proxy.socketPath,
      `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    );
    expect(r).toMatch(/^HTTP\/1\.1 403/);
  });
});

// Issue 14, item 1: an admin allowlisted `127.0.0.1:6379` for setup and reached the
// worker's Redis through the proxy. Loopback, private and metadata addresses are
// refused after resolution, however the allowlist names them.
describe('EgressProxy refuses internal addresses even when allowlisted', () => {
  let dir: string;
  let server: http.Server;
  let port: number;
  let hits = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pw-egress-ssrf-'));
    server = http.createServer((_req, res) => {
      hits++;
      res.end('internal secret');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  async function withProxy<T>(
    hosts: string[],
    run: (p: EgressProxy) => Promise<T>,
    options?: { allowedRanges?: string[] },
  ): Promise<T> {
    const p = new EgressProxy(join(dir, `box-${hosts.length}-${Date.now()}`), createSilentLogger(), options);
    p.setAllowlist(hosts);
    await p.start();
    try {
      return await run(p);
    } finally {
      await p.stop();
    }
  }

  it.each([
    ['127.0.0.1', (port: number) => `127.0.0.1:${port}`],
    ['localhost', (port: number) => `localhost:${port}`],
  ])('refuses an allowlisted %s for plain HTTP and CONNECT, and records it', async (host, entry) => {
    await withProxy([entry(port)], async (p) => {
      const plain = await viaSocket(
        p.socketPath,
        `GET http://${host}:${port}/ HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`,
      );
      expect(plain).toMatch(/^HTTP\/1\.1 403/);
      const tunnel = await viaSocket(
        p.socketPath,
        `CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect(tunnel).toMatch(/^HTTP\/1\.1 403/);
      expect(tunnel).not.toContain('internal secret');
      expect(p.blockedConnections().map((b) => `${b.host}:${b.port}`)).toEqual([
        `${host}:${port}`,
        `${host}:${port}`,
      ]);
    });
    expect(hits).toBe(0);
  });

  it('refuses the same address in other spellings (IPv4-mapped IPv6, decimal)', async () => {
    await withProxy([`[::ffff:127.0.0.1]:${port}`, `2130706433:${port}`], async (p) => {
      for (const authority of [`[::ffff:127.0.0.1]:${port}`, `2130706433:${port}`]) {
        const r = await viaSocket(
          p.socketPath,
          `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`,
        );
        expect(r).toMatch(/^HTTP\/1\.1 403/);
      }
    });
    expect(hits).toBe(0);
  });

  it('lets an operator opt a range in', async () => {
    await withProxy(
      [`127.0.0.1:${port}`],
      async (p) => {
        const r = await viaSocket(
          p.socketPath,
          `GET http://127.0.0.1:${port}/ok HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
        );
        expect(r).toMatch(/^HTTP\/1\.1 200/);
      },
      { allowedRanges: ['127.0.0.1/32'] },
    );
    expect(hits).toBe(1);
  });
});
