import { Command, type Option } from 'commander';
import { register as registerAudit } from './commands/audit.js';
import { register as registerBreakglass } from './commands/breakglass.js';
import { register as registerClients } from './commands/clients.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerJwt } from './commands/jwt.js';
import { register as registerKeys } from './commands/keys.js';
import { register as registerOtp } from './commands/otp.js';
import { register as registerProvision } from './commands/provision.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerServiceAccount } from './commands/service-account.js';
import { register as registerStatus } from './commands/status.js';
import { register as registerToken } from './commands/token.js';
import { EXIT_USAGE } from './io.js';

/**
 * The whole command tree, built fresh: main.ts parses argv with it, and tests walk it (every command's help,
 * every option's name) without spawning a process.
 */
export function createProgram(): Command {
  // Each command group lives in ./commands/<group>.ts and exports `register(program)`.
  const program = new Command();
  program
    .name('offtoken')
    .description(
      'Tokens generated and verified offline: keys, JWT, OTP, offline tokens, and the authority service.',
    )
    .version('0.1.0')
    .exitOverride();
  const out = program.configureOutput();
  program.configureOutput({
    // Usage errors are printed once, as the same JSON line every rejection uses (see main.ts).
    outputError: () => {},
    // Commander prints help "as an error" only for a group run without a subcommand (`offtoken keys`, bare
    // `offtoken`): that is a request for the list of commands, so it goes to stdout and exits 0 (see main.ts).
    writeErr: out.writeOut,
    getErrHelpWidth: out.getOutHelpWidth,
    getErrHasColors: out.getOutHasColors,
  });

  registerServe(program);
  registerKeys(program);
  registerJwt(program);
  registerServiceAccount(program);
  registerDemo(program);
  registerClients(program);
  registerStatus(program);
  registerOtp(program);
  registerToken(program);
  registerProvision(program);
  registerBreakglass(program);
  registerAudit(program);
  checkRequiredOptionsLast(program);
  return program;
}

const required = new WeakMap<Command, Option[]>();

/** The options `cmd` requires (declared with requiredOption, checked by the hook below). */
export function requiredOptions(cmd: Command): readonly Option[] {
  return required.get(cmd) ?? [];
}

/**
 * Commander checks required options before unknown ones, so `jwt sign --bogus` would answer "required option
 * '--key <file>' not specified" and hide the typo. Required options are therefore checked here, in a preAction
 * hook, which commander runs after its unknown-option and argument checks; help is unchanged.
 */
function checkRequiredOptionsLast(root: Command): void {
  const walk = (cmd: Command) => {
    const list = cmd.options.filter((o) => o.mandatory);
    for (const o of list) o.makeOptionMandatory(false);
    if (list.length > 0) required.set(cmd, list);
    for (const sub of cmd.commands) walk(sub);
  };
  walk(root);
  root.hook('preAction', (_root, cmd) => {
    for (const o of requiredOptions(cmd))
      if (cmd.getOptionValue(o.attributeName()) === undefined)
        cmd.error(`error: required option '${o.flags}' not specified`, {
          code: 'commander.missingMandatoryOptionValue',
          exitCode: EXIT_USAGE,
        });
  });
}
