import { describe, expect, it } from 'vitest';
import { commandArgs, UnknownOptionError } from '../../src/cli/args.js';

const OPTIONS = { name: { type: 'string' }, scope: { type: 'string', multiple: true }, 'first-party': { type: 'boolean' } } as const;

describe('CLI arguments', () => {
  it('an id that begins with "-" (a base64url kid or client id, one in 64) is positional, wherever it stands', () => {
    expect(commandArgs(['-Xy_3kZ'], OPTIONS)).toEqual({ values: {}, positionals: ['-Xy_3kZ'] });
    expect(commandArgs(['--name', 'App', '-Xy_3kZ', '--first-party'], OPTIONS)).toEqual({ values: { name: 'App', 'first-party': true }, positionals: ['-Xy_3kZ'] });
    expect(commandArgs(['--', '--starts-with-two'], OPTIONS).positionals).toEqual(['--starts-with-two']);
  });

  it("options keep parseArgs' meaning: values, repeated values, =value, and a value that begins with '-'", () => {
    expect(commandArgs(['--scope', 'a', '--scope=b', '--name', '-dash'], OPTIONS).values).toEqual({ scope: ['a', 'b'], name: '-dash' });
  });

  it('an option the command does not have is refused, not taken for an id', () => {
    expect(() => commandArgs(['--naem', 'x'], OPTIONS)).toThrow(UnknownOptionError);
    expect(() => commandArgs(['--first-party=yes'], OPTIONS)).toThrow();
  });
});
