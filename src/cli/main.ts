#!/usr/bin/env node
import { CommanderError } from 'commander';
import { EXIT_USAGE } from './io.js';
import { createProgram } from './program.js';

const program = createProgram();

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
