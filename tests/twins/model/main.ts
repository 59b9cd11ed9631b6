/**
 * `npm run twin:model [-- --scenario <name>]`: runs the model twin standalone on
 * MODEL_TWIN_PORT (default 3200) and prints its URL and key.
 */
import { parseArgs } from 'node:util';
import { scenarios } from './scenarios/index.js';
import { startModelTwin } from './server.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'echo' },
    host: { type: 'string', default: process.env.MODEL_TWIN_HOST ?? '127.0.0.1' },
    port: { type: 'string', default: process.env.MODEL_TWIN_PORT ?? '3200' },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`invalid port: ${values.port}\n`);
  process.exit(2);
}
if (!scenarios[values.scenario]) {
  process.stderr.write(
    `unknown scenario "${values.scenario}"; known: ${Object.keys(scenarios).join(', ')}\n`,
  );
  process.exit(2);
}
const twin = await startModelTwin({
  port,
  host: values.host,
  scenario: values.scenario,
  apiKey: process.env.MODEL_TWIN_API_KEY || undefined,
  maxRecordedRequests: 500,
  // One line per request, so a demo shows the scripted agent's progress and its token use.
  onRequest: (r) => {
    const u = r.usage;
    const tools = (r.response ?? []).flatMap((b) =>
      typeof b === 'object' && b !== null && (b as { type?: string }).type === 'tool_use'
        ? [(b as { name: string }).name]
        : [],
    );
    process.stdout.write(
      `${new Date(r.at).toISOString()} ${r.method} ${r.path} ${r.status}${r.scenario ? ` ${r.scenario} turn ${r.turn}` : ''}` +
        (u
          ? ` in=${u.input_tokens} cache_read=${u.cache_read_input_tokens} cache_write=${u.cache_creation_input_tokens} out=${u.output_tokens}`
          : '') +
        (tools.length > 0 ? ` tools=${tools.join(',')}` : '') +
        (r.error ? ` error=${r.error.type}` : '') +
        (r.cut ? ' cut' : '') +
        '\n',
    );
  },
});
process.stdout.write(
  `model twin listening on ${twin.url} (scenario ${values.scenario})\n` +
    `  ANTHROPIC_BASE_URL=${twin.url}\n  ANTHROPIC_API_KEY=<the twin key: MODEL_TWIN_API_KEY, default sk-ant-twin-local-key>\n`,
);
const stop = () => {
  void twin.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
