// Command-line arguments of every JavaScript entry point (loop/, demo/, bench/, scripts/, tests/browser):
// node:util parseArgs (Node >= 18.3; only options Node 18 has) with the same rules everywhere:
//   - an unknown option, a missing value, a value given to a flag or an unexpected positional ends
//     the program with "NAME: <what is wrong>" and the usage on stderr, exit status 2;
//   - --help / -h prints the usage on stdout, exit status 0;
//   - a string option takes the next argument as its value even when that begins with '-'
//     (`--policy-args "--prior-weight 0.5"`), as the hand-written parsers before it did.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Prints "NAME: message" and the usage to stderr and exits with status 2. */
export function usageError(name, usage, message) {
  console.error(`${name}: ${message}\n${usage}`);
  process.exit(2);
}

/**
 * @param {{ name: string, usage: string, options: object, allowPositionals?: boolean,
 *           positionals?: [number, number], argv?: string[] }} spec
 *   options: parseArgs options ({ 'bin-dir': { type: 'string' }, quick: { type: 'boolean' } });
 *   positionals: [min, max] count (max Infinity for any), only with allowPositionals.
 * @returns {{ values: object, positionals: string[] }}
 */
export function parseCli({ name, usage, options, allowPositionals = false, positionals: count, argv = process.argv.slice(2) }) {
  const opts = { help: { type: 'boolean', short: 'h' }, ...options };
  const args = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const long = /^--([^=]+)$/.exec(a);
    if (long && opts[long[1]]?.type === 'string' && i + 1 < argv.length && argv[i + 1].startsWith('-')) {
      args.push(`${a}=${argv[++i]}`);
      continue;
    }
    args.push(a);
  }
  let r;
  try {
    r = parseArgs({ args, options: opts, allowPositionals, strict: true });
  } catch (e) {
    if (!String(e.code).startsWith('ERR_PARSE_ARGS')) throw e;
    usageError(name, usage, e.message);
  }
  if (r.values.help) {
    console.log(usage);
    process.exit(0);
  }
  if (count) {
    const [min, max] = count;
    const n = r.positionals.length;
    if (n < min || n > max) usageError(name, usage, `expected ${max === min ? min : max === Infinity ? `at least ${min}` : `${min} to ${max}`} argument(s), got ${n}`);
  }
  return r;
}

/** True when the module at `importMetaUrl` is the program node was started with (not imported). */
export function isMain(importMetaUrl) {
  return Boolean(process.argv[1]) && resolve(process.argv[1]) === fileURLToPath(importMetaUrl);
}
