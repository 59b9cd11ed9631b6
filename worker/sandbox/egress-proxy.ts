import { lookup } from 'node:dns/promises';
import { chmod, mkdir, rm } from 'node:fs/promises';
import http from 'node:http';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { EgressAddressPolicy } from '../../src/domain/egress-address-policy.js';
import type { Logger } from '../../src/logger.js';
import type { BlockedConnection } from './sandbox.js';

/**
 * The worker-side end of the `allowlist` network policy. It listens on a unix
 * socket in a host folder that is bind-mounted read-only into the sandbox; the
 * sandbox has no network interface but loopback, and a relay inside it forwards
 * 127.0.0.1:3128 to this socket. So every byte that leaves the sandbox passes this
 * check: HTTP `CONNECT host:port` (HTTPS) and absolute-form HTTP requests are let
 * through only to allowlisted hosts; everything else gets 403 and is recorded so
 * the job can report it on the pull request.
 *
 * Threats: exfiltration to an attacker's server and pivoting into the worker's
 * network. After resolution, loopback, private, CGNAT, unique-local, link-local,
 * unspecified, multicast and cloud metadata addresses are refused even for an
 * allowlisted name or literal (see EgressAddressPolicy), so neither an allowlist
 * entry like `127.0.0.1:6379` nor a DNS answer turns the proxy into a way to the
 * worker's Redis, the internal network or the instance's credential endpoint.
 */
export interface AllowRule {
  host: string;
  /** Undefined: any port of that host. */
  port?: number;
  /** `*.example.com`: any subdomain (not the apex). */
  wildcard: boolean;
}

export function parseAllowRule(entry: string): AllowRule {
  let host = entry.trim().toLowerCase();
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (bracketed) {
    host = bracketed[1] as string;
    port = bracketed[2] === undefined ? undefined : Number(bracketed[2]);
  } else {
    const m = /^([^:]+):(\d+)$/.exec(host);
    if (m) {
      host = m[1] as string;
      port = Number(m[2]);
    }
  }
  const wildcard = host.startsWith('*.');
  if (wildcard) host = host.slice(2);
  return { host, port, wildcard };
}

export function isAllowed(rules: readonly AllowRule[], host: string, port: number): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return rules.some((r) => {
    if (r.port !== undefined && r.port !== port) return false;
    return r.wildcard ? h.endsWith(`.${r.host}`) : h === r.host;
  });
}

function splitHostPort(authority: string, defaultPort: number): { host: string; port: number } | null {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(authority);
  if (!m) return null;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

export interface EgressProxyOptions {
  /** How many refusals are kept for `blockedConnections()`. */
  maxRecorded?: number;
  /**
   * Internal ranges (CIDR or single addresses) the operator lets sandboxes reach, such
   * as a package mirror on the private network. Metadata addresses stay refused.
   */
  allowedRanges?: readonly string[];
}

export class EgressProxy {
  private rules: AllowRule[] = [];
  private readonly blocked: BlockedConnection[] = [];
  private server: http.Server | null = null;
  private readonly sockets = new Set<Duplex>();
  readonly socketPath: string;
  private readonly maxRecorded: number;
  private readonly addresses: EgressAddressPolicy;

  constructor(
    readonly dir: string,
    private readonly log: Logger,
    options: EgressProxyOptions = {},
  ) {
    this.socketPath = join(dir, 'egress.sock');
    this.maxRecorded = options.maxRecorded ?? 500;
    this.addresses = new EgressAddressPolicy(options.allowedRanges);
  }

  /** Replaces the allowlist; an empty list refuses everything. */
  setAllowlist(hosts: readonly string[]): void {
    this.rules = hosts.map(parseAllowRule);
  }

  blockedConnections(): BlockedConnection[] {
    return [...this.blocked];
  }

  get listening(): boolean {
    return this.server !== null;
  }

  async start(): Promise<void> {
    if (this.server) return;
    await mkdir(this.dir, { recursive: true });
    await rm(this.socketPath, { force: true });
    const server = http.createServer((req, res) => void this.onRequest(req, res));
    server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.onConnect(req, socket, head);
    });
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    // The sandbox user (uid 1000) must be able to connect; the folder is mounted read-only.
    await chmod(this.socketPath, 0o666);
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.socketPath, { force: true });
  }

  private record(host: string, port: number, reason: string): void {
    this.log.warn({ host, port, reason }, 'Sandbox egress blocked');
    if (this.blocked.length < this.maxRecorded)
      this.blocked.push({ host, port, at: new Date().toISOString() });
  }

  /** Resolves and checks a target; returns the address to dial, or null when refused. */
  private async admit(host: string, port: number): Promise<string | null> {
    if (!isAllowed(this.rules, host, port)) {
      this.record(host, port, 'not-allowlisted');
      return null;
    }
    let address = host;
    if (isIP(host) === 0) {
      try {
        address = (await lookup(host)).address;
      } catch {
        this.record(host, port, 'unresolvable');
        return null;
      }
    }
    const refusal = this.addresses.refusal(address);
    if (refusal !== null) {
      this.record(host, port, refusal);
      return null;
    }
    return address;
  }

  private async onConnect(req: http.IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    client.on('error', () => client.destroy());
    const target = splitHostPort(req.url ?? '', 443);
    if (!target) {
      client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const address = await this.admit(target.host, target.port);
    if (address === null) {
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = netConnect({ host: address, port: target.port });
    upstream.on('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const close = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', () => {
      if (!client.destroyed) client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      close();
    });
    client.on('close', close);
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (url.protocol !== 'http:') {
      res.writeHead(400).end();
      return;
    }
    const port = url.port === '' ? 80 : Number(url.port);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const address = await this.admit(host, port);
    if (address === null) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end(`pullwright: egress to ${host} is blocked\n`);
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const upstream = http.request(
      {
        host: address,
        port,
        method: req.method,
        path: `${url.pathname}${url.search}`,
        headers: { ...headers, host: url.host },
        setHost: false,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  }
}
