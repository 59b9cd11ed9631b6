import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGitHubTwin } from './twin.js';
import type { SeedFile } from './types.js';

/** The built-in `--sample` world: one owner, one collaborator, one repo with a failing test, one issue. */
export const SAMPLE_SEED: SeedFile = {
  users: [{ login: 'octo-owner' }, { login: 'octo-dev' }, { login: 'octo-reader' }],
  repos: [
    {
      owner: 'octo-owner',
      name: 'sample-repo',
      files: {
        'README.md': '# sample-repo\n\nA tiny project for the Pullwright demo.\n',
        'package.json':
          '{\n  "name": "sample-repo",\n  "type": "module",\n  "scripts": { "test": "node test.js" }\n}\n',
        'sum.js': 'export function sum(a, b) {\n  return a - b;\n}\n',
        'test.js':
          "import assert from 'node:assert';\nimport { sum } from './sum.js';\nassert.strictEqual(sum(2, 3), 5);\nconsole.log('ok');\n",
        '.github/pullwright.yml': 'checks:\n  - npm test\n',
      },
    },
  ],
  installations: [{ account: 'octo-owner', repos: ['octo-owner/sample-repo'] }],
  collaborators: [
    { repo: 'octo-owner/sample-repo', login: 'octo-dev', permission: 'write' },
    { repo: 'octo-owner/sample-repo', login: 'octo-reader', permission: 'read' },
  ],
  issues: [
    {
      repo: 'octo-owner/sample-repo',
      title: 'sum() returns the wrong result',
      body: '`sum(2, 3)` returns -1 instead of 5. `npm test` fails.',
      author: 'octo-dev',
    },
  ],
};

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
