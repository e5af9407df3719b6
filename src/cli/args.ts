import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** An option the command does not have (`--naem`): the caller shows the usage. */
export class UnknownOptionError extends Error {}

/**
 * A command's options and positional arguments, where a positional may begin with "-". Key ids
 * (JWK thumbprints) and client ids are base64url, so one in 64 begins with "-", and `parseArgs`
 * would take `gatehouse keys retire -Xy…` for an unknown option. Here only the command's own
 * options are options; `--` ends them; any other `--word` is an unknown option; the rest, whatever
 * its first character, is positional.
 */
export function commandArgs<T extends Options>(args: readonly string[], options: T): { values: ReturnType<typeof parseArgs<{ options: T }>>['values']; positionals: string[] } {
  const byFlag = new Map<string, string>();
  for (const [name, option] of Object.entries(options)) {
    byFlag.set(`--${name}`, name);
    if (option.short) byFlag.set(`-${option.short}`, name);
  }
  const flags: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    const flag = arg.startsWith('--') ? arg.split('=')[0]! : arg;
    const name = byFlag.get(flag);
    if (name !== undefined) {
      // A string option's value is the next argument unless given as --name=value; passed on joined,
      // so a value that begins with "-" is not taken for an option either.
      flags.push(options[name]!.type === 'string' && !arg.includes('=') && i + 1 < args.length ? `--${name}=${args[++i]!}` : arg);
    } else if (arg.startsWith('--')) {
      throw new UnknownOptionError(`unknown option ${flag}`);
    } else {
      positionals.push(arg);
    }
  }
  const { values } = parseArgs({ args: flags, options, strict: true, allowPositionals: false });
  return { values, positionals };
}
