#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
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
  .exitOverride()
  // Usage errors are printed once, as the same JSON line every rejection uses (see main below).
  .configureOutput({ outputError: () => {} });

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

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return;
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
