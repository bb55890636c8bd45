import picomatch from 'picomatch';
import type { BackendSpec } from '../config/contract.js';
import { isStdioBackend } from '../config/contract.js';

/**
 * Which stdio commands the admin API may start (`--allow-command <glob>`, repeatable). Whoever can
 * write to the admin API can otherwise run any program inside the proxy's container; with a list,
 * a stolen admin token buys only the programs the operator named. Config-file backends are the
 * machine operator's own choice and never pass through here.
 *
 * Globs (picomatch) match the `command` string as written: `node` allows `node` looked up on
 * PATH, not `/tmp/node`; `/opt/mcp/bin/*` allows the programs in that directory. The arguments
 * are not restricted, so allowing an interpreter (`node`, `python`, `npx`, `uvx`) allows whatever
 * it can be told to run.
 */
export type CommandPolicy = (name: string, spec: BackendSpec) => string | undefined;

/** No list: every command is allowed, as before the flag existed. */
export const anyCommand: CommandPolicy = () => undefined;

const PARENT_SEGMENT = /(^|\/)\.\.(\/|$)/;
const LOADER_ENV = /^(PATH|LD_\w+|DYLD_\w+)$/i;

export function allowCommands(globs: readonly string[]): CommandPolicy {
  if (globs.length === 0) return anyCommand;
  // picomatch drops a leading `./` from patterns but not from input: compare `./x` commands only
  // with `./…` patterns, so `./node` (in a directory the caller picks) never passes for `node`.
  const relative = globs.filter((glob) => glob.startsWith('./'));
  const other = globs.filter((glob) => !glob.startsWith('./'));
  const matchRelative = relative.length > 0 ? picomatch(relative) : () => false;
  const matchOther = other.length > 0 ? picomatch(other) : () => false;
  const matches = (command: string): boolean =>
    command.startsWith('./') ? matchRelative(command.slice(2)) : matchOther(command);
  const listed = globs.join(', ');
  return (name, spec) => {
    if (!isStdioBackend(spec)) return undefined;
    const command = spec.command;
    const flag = `--allow-command ${JSON.stringify(command)}`;
    if (PARENT_SEGMENT.test(command)) {
      return `command ${JSON.stringify(command)} of mcpServers.${name} contains "..", which --allow-command does not allow through the admin API (allowed: ${listed}); name the program by a path without ".."`;
    }
    if (!matches(command)) {
      return `command ${JSON.stringify(command)} of mcpServers.${name} is not allowed through the admin API: it matches none of --allow-command ${listed}. Start multi-mcp with ${flag} to allow it, or define the server in the config file`;
    }
    // PATH decides which program a bare name runs, LD_*/DYLD_* which code it loads: the caller must not choose.
    const loader = Object.keys(spec.env ?? {}).find((key) => LOADER_ENV.test(key));
    if (loader !== undefined) {
      return `env.${loader} of mcpServers.${name} cannot be set through the admin API while --allow-command restricts commands: it would choose which code ${JSON.stringify(command)} runs`;
    }
    return undefined;
  };
}
