import { describe, expect, it } from 'vitest';
import { parseSetupSecrets } from '../../worker/environment/setup-secrets.js';

describe('parseSetupSecrets', () => {
  const file = `
- repos: ["acme/*"]
  env: { NPM_TOKEN: "npm_aaaaaaaaaaaa" }
- installations: [42]
  env: { PIP_INDEX_URL: "https://u:pppppppppp@pypi.example/simple" }
- repos: ["acme/special"]
  installations: [7]
  env: { NPM_TOKEN: "npm_special_override" }
`;
  const secrets = parseSetupSecrets(file);

  it('applies rules by repository glob and installation, later rules winning', () => {
    expect(secrets.forScope({ installationId: 1, repo: 'acme/widgets' })).toEqual({
      NPM_TOKEN: 'npm_aaaaaaaaaaaa',
    });
    expect(secrets.forScope({ installationId: 1, repo: 'ACME/Widgets' })).toEqual({
      NPM_TOKEN: 'npm_aaaaaaaaaaaa',
    });
    expect(secrets.forScope({ installationId: 42, repo: 'other/x' })).toEqual({
      PIP_INDEX_URL: 'https://u:pppppppppp@pypi.example/simple',
    });
    expect(secrets.forScope({ installationId: 7, repo: 'acme/special' })).toEqual({
      NPM_TOKEN: 'npm_special_override',
    });
    // Both selectors must match.
    expect(secrets.forScope({ installationId: 8, repo: 'acme/special' })).toEqual({
      NPM_TOKEN: 'npm_aaaaaaaaaaaa',
    });
    expect(secrets.forScope({ installationId: 1, repo: 'other/x' })).toEqual({});
    // `*` stays within a segment.
    expect(secrets.forScope({ installationId: 1, repo: 'acmex/y' })).toEqual({});
    expect(secrets.allValues()).toHaveLength(3);
  });

  it('refuses bad files without quoting a value', () => {
    const bad = [
      '- env: { A_TOKEN: "aaaaaaaaaaaa" }', // no selector
      '- repos: ["a/*"]\n  env: { A: "short" }', // too short to scrub reliably
      '- repos: ["a/*"]\n  env: { BASH_ENV: "/tmp/evil-evil" }', // reserved
      '- repos: ["a/*"]\n  env: { "1BAD": "aaaaaaaaaaaa" }',
      '- repos: ["a/*"]\n  env: { A: "aaaaaaaaaaaa" }\n  extra: 1',
      'repos: [',
    ];
    for (const text of bad) {
      let message = '';
      try {
        parseSetupSecrets(text);
      } catch (err) {
        message = (err as Error).message;
        expect(err).toMatchObject({ code: 'config_invalid' });
      }
      expect(message, text).not.toBe('');
      expect(message).not.toContain('aaaaaaaaaaaa');
      expect(message).not.toContain('evil-evil');
    }
  });
});
