import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger };

/**
 * Paths pino censors wherever they appear in a log object. Tokens, keys and
 * authorization headers must never reach a log line, whatever a caller passes.
 */
/**
 * Environment variables that hold a secret, as `src/config/env.ts` names them (the parsed
 * `Config` keeps the same keys). Censored at the top level and one level down, so a log
 * line carrying `env`, `config` or any object holding the config shows none of them.
 */
const SECRET_ENV_VARS = [
  'PRIVATE_KEY',
  'WEBHOOK_SECRET',
  'OPERATOR_TOKEN',
  'ANTHROPIC_API_KEY',
  'REDIS_PASSWORD',
  'REDIS_SENTINEL_PASSWORD',
];

/** Fields that hold a secret under our own camelCase names. */
const SECRET_FIELDS = [
  'token',
  'installationToken',
  'privateKey',
  'apiKey',
  'secret',
  'webhookSecret',
  'operatorToken',
  'password',
  'authorization',
];

/**
 * Paths pino censors wherever they appear in a log object. Tokens, keys and
 * authorization headers must never reach a log line, whatever a caller passes.
 */
export const REDACT_PATHS = [
  ...[...SECRET_FIELDS, ...SECRET_ENV_VARS].flatMap((field) => [field, `*.${field}`]),
  'headers.authorization',
  '*.headers.authorization',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  // A Redis URL may carry its password (`redis://:secret@host`).
  'REDIS_URL',
  '*.REDIS_URL',
];

const TOKEN_PATTERNS: RegExp[] = [
  /gh[pousr]_[A-Za-z0-9]{20,}/g,
  /github_pat_[A-Za-z0-9_]{20,}/g,
  /sk-ant-[A-Za-z0-9_-]{10,}/g,
  /x-access-token:[^@\s]+@/g,
  // Credentials in a URL's user info (`redis://:secret@host`, `https://user:pass@host`).
  /(?<=\/\/)[^/@\s:]*:[^/@\s]+(?=@)/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g,
];

/** Removes anything that looks like a credential from free text (error messages, tool output). */
export function redactText(text: string, extraSecrets: readonly string[] = []): string {
  let out = text;
  for (const secret of extraSecrets) {
    if (secret.length >= 6) out = out.split(secret).join('[REDACTED]');
  }
  for (const pattern of TOKEN_PATTERNS) out = out.replace(pattern, '[REDACTED]');
  return out;
}

/** What a redacted field becomes: a URL keeps its host (useful in logs) and loses its credentials. */
export function censorValue(value: unknown, path: string[]): string {
  const field = path[path.length - 1] ?? '';
  if (typeof value === 'string' && field.endsWith('_URL')) return redactText(value);
  return '[REDACTED]';
}

export function createLogger(
  options: { level?: string; name?: string; destination?: DestinationStream } = {},
): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: censorValue },
    base: { service: options.name ?? 'pullwright' },
    serializers: {
      err: (err: unknown) => {
        const serialized = pino.stdSerializers.err(err as Error);
        if (serialized && typeof serialized.message === 'string')
          serialized.message = redactText(serialized.message);
        if (serialized && typeof serialized.stack === 'string')
          serialized.stack = redactText(serialized.stack);
        return serialized;
      },
    },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** A logger that writes nothing, for unit tests and library defaults. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
