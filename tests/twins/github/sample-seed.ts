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
