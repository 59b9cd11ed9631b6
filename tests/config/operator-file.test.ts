import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { z } from 'zod';
import { parseOperatorFile, readOperatorFile } from '../../src/config/operator-file.js';

const Schema = z.object({ url: z.url(), token: z.string() }).strict();

describe('operator files (TOOL_POLICY_FILE, MCP_SERVERS_FILE, SETUP_SECRETS_FILE)', () => {
  it('parses YAML and JSON against the schema, and an empty file as the given default', () => {
    expect(parseOperatorFile(Schema, 'url: https://x.test\ntoken: t', 'F', {})).toEqual({
      url: 'https://x.test',
      token: 't',
    });
    expect(parseOperatorFile(Schema, '{"url":"https://x.test","token":"t"}', 'F', {}).token).toBe('t');
    expect(parseOperatorFile(z.array(z.string()), '', 'F', [])).toEqual([]);
  });

  it('never quotes the file in its errors: it holds credentials', () => {
    const secret = 'ghp_supersecretvalue';
    let message = '';
    try {
      parseOperatorFile(Schema, `url: https://x.test\ntoken: "${secret}\n  bad: [`, 'MCP_SERVERS_FILE', {});
    } catch (err) {
      message = (err as Error).message;
      expect(err).toMatchObject({ code: 'config_invalid', retryable: false });
    }
    expect(message).toMatch(/^MCP_SERVERS_FILE is not valid YAML or JSON/);
    expect(message).not.toContain(secret);
    expect(() => parseOperatorFile(Schema, `url: nope\ntoken: ${secret}`, 'F', {})).toThrow(
      /^F is invalid: url: /,
    );
    try {
      parseOperatorFile(Schema, `url: nope\ntoken: ${secret}`, 'F', {});
    } catch (err) {
      expect((err as Error).message).not.toContain(secret);
    }
  });

  it('says which variable names a file it cannot read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-operator-file-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'f.yml'), 'a: 1');
    expect(await readOperatorFile('TOOL_POLICY_FILE', join(dir, 'f.yml'))).toBe('a: 1');
    await expect(readOperatorFile('TOOL_POLICY_FILE', join(dir, 'missing.yml'))).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringMatching(/^TOOL_POLICY_FILE \(.*missing\.yml\) cannot be read: ENOENT$/),
    });
  });
});
