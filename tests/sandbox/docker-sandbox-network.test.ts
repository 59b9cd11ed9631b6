import { readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerSandboxProvider } from '../../worker/sandbox/docker-sandbox-provider.js';
import { makeWorkspace, removeContainersOf, removeDir, SANDBOX_IMAGE, testProvider } from './helpers.js';

/** An HTTP server on a loopback address of the host (127.0.0.2 and .3 are outside NO_PROXY). */
async function startServer(
  host: string,
  body: string,
): Promise<{ port: number; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const ifaces = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' '";

describe('DockerSandbox network policies (real Docker)', () => {
  const { provider: strictProvider, workerHostId, docker } = testProvider();
  // The test servers listen on host loopback addresses, which the egress proxy refuses
  // unless the operator opts them in; only the "allowed" one is, so the other stays
  // refused by the allowlist itself.
  const provider = new DockerSandboxProvider({ workerHostId, docker, egressAllowedRanges: ['127.0.0.2/32'] });
  let workspace: string;
  let allowed: Awaited<ReturnType<typeof startServer>>;
  let blocked: Awaited<ReturnType<typeof startServer>>;

  beforeAll(async () => {
    workspace = await makeWorkspace();
    allowed = await startServer('127.0.0.2', 'allowed-ok');
    blocked = await startServer('127.0.0.3', 'should-not-see');
  });

  afterAll(async () => {
    await allowed?.close();
    await blocked?.close();
    await removeContainersOf(docker, workerHostId);
    await removeDir(workspace);
  });

  it('allowlist: reaches only listed hosts through the proxy, records blocked attempts, and has no interface', async () => {
    const box = await provider.create(
      {
        image: SANDBOX_IMAGE,
        network: { mode: 'allowlist', hosts: [`127.0.0.2:${allowed.port}`, '169.254.169.254'] },
      },
      workspace,
    );
    try {
      expect((await box.exec({ cmd: ifaces })).stdout.trim()).toBe('lo');
      const ok = await box.exec({ cmd: `curl -sS -m 10 http://127.0.0.2:${allowed.port}/` });
      expect(ok.stdout).toBe('allowed-ok');
      // HTTPS-style tunnelling (CONNECT) goes through the same check.
      const tunnel = await box.exec({
        cmd: `curl -sS -m 10 --proxytunnel http://127.0.0.2:${allowed.port}/`,
      });
      expect(tunnel.stdout).toBe('allowed-ok');
      const denied = await box.exec({
        cmd: `curl -s -o /dev/null -w '%{http_code}' -m 10 http://127.0.0.3:${blocked.port}/`,
      });
      expect(denied.stdout).toBe('403');
      const deniedTunnel = await box.exec({
        cmd: `curl -sS -m 10 --proxytunnel http://127.0.0.3:${blocked.port}/`,
      });
      expect(deniedTunnel.exitCode).not.toBe(0);
      // Allowlisted by name, but a metadata address is always refused.
      const metadata = await box.exec({
        cmd: "curl -s -o /dev/null -w '%{http_code}' -m 10 http://169.254.169.254/latest/meta-data/",
      });
      expect(metadata.stdout).toBe('403');
      // Going around the proxy finds no route at all.
      const direct = await box.exec({ cmd: `curl -sS -m 5 --noproxy '*' http://127.0.0.2:${allowed.port}/` });
      expect(direct.exitCode).not.toBe(0);
      expect(blocked.hits()).toBe(0);
      const records = await box.blockedConnections();
      expect(records.map((r) => `${r.host}:${r.port}`)).toEqual([
        `127.0.0.3:${blocked.port}`,
        `127.0.0.3:${blocked.port}`,
        '169.254.169.254:80',
      ]);
      expect(records.every((r) => !Number.isNaN(Date.parse(r.at)))).toBe(true);

      // Agent phase: the same container drops to no network at all.
      await box.setNetwork({ mode: 'none' });
      const after = await box.exec({ cmd: `curl -sS -m 5 http://127.0.0.2:${allowed.port}/` });
      expect(after.exitCode).not.toBe(0);
      expect(allowed.hits()).toBe(2);
    } finally {
      await box.dispose();
    }
  });

  // Issue 14, item 1: a repo admin allowlisted a worker-local service (Redis on
  // 127.0.0.1:6379) and reached it through the proxy. Without an operator opt-in,
  // loopback is refused even when the allowlist names it, by address or by `localhost`.
  it('allowlist: refuses a listed loopback address or localhost unless the operator opted it in', async () => {
    const box = await strictProvider.create(
      {
        image: SANDBOX_IMAGE,
        network: { mode: 'allowlist', hosts: [`127.0.0.2:${allowed.port}`, `localhost:${allowed.port}`] },
      },
      workspace,
    );
    const before = allowed.hits();
    try {
      const byAddress = await box.exec({
        cmd: `curl -s -o /dev/null -w '%{http_code}' -m 10 http://127.0.0.2:${allowed.port}/`,
      });
      expect(byAddress.stdout).toBe('403');
      const byName = await box.exec({
        cmd: `curl -sS -m 10 --proxytunnel http://localhost:${allowed.port}/`,
        env: { NO_PROXY: '', no_proxy: '' },
      });
      expect(byName.exitCode).not.toBe(0);
      expect(allowed.hits()).toBe(before);
      const records = await box.blockedConnections();
      expect(records.map((r) => `${r.host}:${r.port}`)).toEqual([
        `127.0.0.2:${allowed.port}`,
        `localhost:${allowed.port}`,
      ]);
    } finally {
      await box.dispose();
    }
  });

  it('switches between none and open on a running sandbox', async () => {
    const box = await provider.create({ image: SANDBOX_IMAGE }, workspace);
    try {
      expect((await box.exec({ cmd: ifaces })).stdout.trim()).toBe('lo');
      await box.setNetwork({ mode: 'open' });
      expect((await box.exec({ cmd: ifaces })).stdout.trim()).toBe('eth0 lo');
      await box.setNetwork({ mode: 'none' });
      expect((await box.exec({ cmd: ifaces })).stdout.trim()).toBe('lo');
    } finally {
      await box.dispose();
    }
  });

  it('moves a running sandbox from none to an allowlist (setup phase) and back', async () => {
    const box = await provider.create({ image: SANDBOX_IMAGE }, workspace);
    try {
      const before = await box.exec({
        cmd: `curl -sS -m 5 --proxy http://127.0.0.1:3128 http://127.0.0.2:${allowed.port}/`,
      });
      expect(before.exitCode).not.toBe(0);
      await box.setNetwork({ mode: 'allowlist', hosts: [`127.0.0.2:${allowed.port}`] });
      const during = await box.exec({ cmd: `curl -sS -m 10 http://127.0.0.2:${allowed.port}/` });
      expect(during.stdout).toBe('allowed-ok');
      expect((await box.exec({ cmd: ifaces })).stdout.trim()).toBe('lo');
      await box.setNetwork({ mode: 'none' });
      const after = await box.exec({
        cmd: `curl -sS -m 5 --proxy http://127.0.0.1:3128 http://127.0.0.2:${allowed.port}/`,
      });
      expect(after.exitCode).not.toBe(0);
    } finally {
      await box.dispose();
    }
  });

  it('dispose removes the per-sandbox egress folder', async () => {
    const egressRoot = `${workspace}-egress`;
    const own = new DockerSandboxProvider({ workerHostId, docker, egressRoot });
    const box = await own.create(
      { image: SANDBOX_IMAGE, network: { mode: 'allowlist', hosts: [] } },
      workspace,
    );
    expect(readdirSync(egressRoot)).toEqual([box.id]);
    await box.dispose();
    expect(readdirSync(egressRoot)).toEqual([]);
    await removeDir(egressRoot);
  });
});
