#!/usr/bin/env node
import { Command, CommanderError, type Option } from 'commander';
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
  // Usage errors are printed once, as the same JSON line every rejection uses (see main below).
  outputError: () => {},
  // Commander prints help "as an error" only for a group run without a subcommand (`offtoken keys`, bare
  // `offtoken`): that is a request for the list of commands, so it goes to stdout and exits 0 (see main).
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

/**
 * Commander checks required options before unknown ones, so `jwt sign --bogus` would answer "required option
 * '--key <file>' not specified" and hide the typo. Required options are therefore checked here, in a preAction
 * hook, which commander runs after its unknown-option and argument checks; help is unchanged.
 */
function checkRequiredOptionsLast(root: Command): void {
  const required = new Map<Command, Option[]>();
  const walk = (cmd: Command) => {
    const list = cmd.options.filter((o) => o.mandatory);
    for (const o of list) o.makeOptionMandatory(false);
    if (list.length > 0) required.set(cmd, list);
    for (const sub of cmd.commands) walk(sub);
  };
  walk(root);
  root.hook('preAction', (_root, cmd) => {
    for (const o of required.get(cmd) ?? [])
      if (cmd.getOptionValue(o.attributeName()) === undefined)
        cmd.error(`required option '${o.flags}' not specified`, {
          code: 'commander.missingMandatoryOptionValue',
          exitCode: EXIT_USAGE,
        });
  });
}

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander.help with exit 1 is the help of a group run without a subcommand: printed, not an error
      if (e.exitCode === 0 || e.code === 'commander.help') return;
      process.stderr.write(
        `${JSON.stringify({ error: { code: 'ERR_USAGE', message: e.message.replace(/^error: /, '') } })}\n`,
      );
      process.exitCode = EXIT_USAGE;
      return;
    }
    throw e;
  }
}

await main();
