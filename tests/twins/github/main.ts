import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE_SEED } from './sample-seed.js';
import { startGitHubTwin } from './twin.js';
import type { SeedFile } from './types.js';

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main() {
  const args = process.argv.slice(2);
  const port = Number(process.env.GITHUB_TWIN_PORT ?? 3100);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`GITHUB_TWIN_PORT must be a port number, got ${process.env.GITHUB_TWIN_PORT}`);
    process.exit(1);
  }
  const twin = await startGitHubTwin({
    port,
    host: process.env.GITHUB_TWIN_HOST ?? '127.0.0.1',
    webhookUrl: process.env.GITHUB_TWIN_WEBHOOK_URL ?? null,
    webhookSecret: process.env.GITHUB_TWIN_WEBHOOK_SECRET,
  });
  const seedPath = argValue(args, '--seed');
  if (seedPath) await twin.seed.apply(JSON.parse(await readFile(seedPath, 'utf8')) as SeedFile);
  else if (args.includes('--sample')) await twin.seed.apply(SAMPLE_SEED);

  const keyPath =
    process.env.GITHUB_TWIN_KEY_PATH ?? join(tmpdir(), `github-twin-${twin.app.id}-${process.pid}.pem`);
  await writeFile(keyPath, twin.app.privateKey, { mode: 0o600 });
  const state = (await (await fetch(`${twin.url}/_twin/state`)).json()) as {
    users: { login: string; token: string }[];
  };
  console.log(`GitHub twin listening on ${twin.url}`);
  console.log(`App id: ${twin.app.id} (bot ${twin.app.botLogin})`);
  console.log(`App private key written to ${keyPath}`);
  console.log(`Webhook secret: ${twin.app.webhookSecret}`);
  console.log(
    `Webhook URL: ${process.env.GITHUB_TWIN_WEBHOOK_URL ?? '(none; set with PUT /_twin/webhook-url)'}`,
  );
  for (const u of state.users.filter((x) => x.token)) console.log(`User ${u.login} token ${u.token}`);

  const stop = async () => {
    await twin.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
