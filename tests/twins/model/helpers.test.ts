import { describe, expect, it } from 'vitest';
import {
  firstUserText,
  lastToolResults,
  type MessagesRequest,
  ONE_PROCESS_TESTS,
  scenarios,
  type TestCommand,
  testOutcome,
  toolExchanges,
} from './index.js';

const request: MessagesRequest = {
  model: 'm',
  max_tokens: 10,
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Title: Do it' },
        { type: 'text', text: 'details' },
      ],
    },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'ok' },
        { type: 'tool_use', id: 't1', name: 'bash', input: { command: 'npm test' } },
      ],
    },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: '# fail 1' }] },
    {
      role: 'assistant',
      content: [
        { type: 'tool_use', id: 't2', name: 'list_files', input: {} },
        { type: 'tool_use', id: 't3', name: 'search', input: { pattern: 'x' } },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 't2', content: [{ type: 'text', text: 'a.js' }] },
        { type: 'tool_result', tool_use_id: 't3', content: 'bad pattern', is_error: true },
        { type: 'text', text: 'Budget: 10 turns left.' },
      ],
    },
  ],
};

describe('model twin scenario helpers', () => {
  it('pairs every tool call with its result, in order, with the assistant turn that made it', () => {
    expect(toolExchanges(request)).toEqual([
      {
        id: 't1',
        name: 'bash',
        input: { command: 'npm test' },
        assistantTurn: 0,
        result: { text: '# fail 1', isError: false },
      },
      { id: 't2', name: 'list_files', input: {}, assistantTurn: 1, result: { text: 'a.js', isError: false } },
      {
        id: 't3',
        name: 'search',
        input: { pattern: 'x' },
        assistantTurn: 1,
        result: { text: 'bad pattern', isError: true },
      },
    ]);
  });

  it('finds the results the last user message carries, and the task text', () => {
    expect(lastToolResults(request).map((e) => e.id)).toEqual(['t2', 't3']);
    expect(firstUserText(request)).toBe('Title: Do it\ndetails');
  });

  it.each([
    ['# tests 3\n# pass 1\n# fail 2', 'fail'],
    ['# tests 3\n# pass 3\n# fail 0\nexit code: 0', 'pass'],
    ['ℹ tests 3\nℹ pass 3\nℹ fail 0', 'pass'],
    ['✖ add sums two numbers (1ms)\nℹ fail 1', 'fail'],
    ['npm ERR! Test failed.', 'fail'],
    ['all good\nexit code: 1', 'fail'],
    ['10 passed', 'pass'],
    ['8 passing\n2 failing', 'fail'],
    ['hello', 'unknown'],
    ['{"exit_code":1,"stdout":"ok"}', 'fail'],
    ['{"exit_code":0,"stdout":"# pass 3\\n# fail 0"}', 'pass'],
  ])('reads a test run: %j → %s', (output, outcome) => {
    expect(testOutcome(output)).toBe(outcome);
  });

  it.each([
    [undefined, 'npm test'],
    ['npm test', 'npm test'],
    ['node --test', 'node --test'],
    [ONE_PROCESS_TESTS, ONE_PROCESS_TESTS],
  ] as const)(
    'the coding scenarios run the tests with the twin option testCommand=%s: %s',
    (option, expected) => {
      const ctx = { turn: 1, state: {}, conversationId: 'c', testCommand: option as TestCommand | undefined };
      const task = (text: string): MessagesRequest => ({
        model: 'm',
        max_tokens: 10,
        messages: [{ role: 'user', content: text }],
      });
      const commands = (name: string, text: string) =>
        (
          scenarios[name]!.respond(task(text), ctx) as { content: { type: string; input?: unknown }[] }
        ).content
          .filter((b) => b.type === 'tool_use')
          .map((b) => (b.input as { command?: unknown }).command);
      expect(commands('fix-failing-test', 'Fix the tests.').at(-1)).toBe(expected);
      expect(commands('malformed-tool-input', 'Check.')).toEqual([expected.split(' ')]);
      // A run the loop answered: the next step of the fix loop runs the tests the same way.
      const answered: MessagesRequest = {
        model: 'm',
        max_tokens: 10,
        messages: [
          { role: 'user', content: 'Title: x' },
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'l', name: 'list_files', input: {} }],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'l', content: 'src/' }] },
        ],
      };
      const next = scenarios['implement-issue']!.respond(answered, ctx) as { content: { input?: unknown }[] };
      expect(next.content.map((b) => (b.input as { command?: unknown } | undefined)?.command)).toContain(
        expected,
      );
    },
  );
});
