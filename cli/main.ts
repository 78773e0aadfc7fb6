import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { registerAuditCommand } from './commands/audit.ts';
import { registerDoctorCommand } from './commands/doctor.ts';
import { registerEventsCommand } from './commands/events.ts';
import { registerGenotypeCommand } from './commands/genotype.ts';
import { registerParamsCommand } from './commands/params.ts';
import { registerReplayCommand } from './commands/replay.ts';
import { registerSearchCommands } from './commands/search.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerStatusCommands } from './commands/status.ts';
import { registerTrainCommand } from './commands/train.ts';
import { registerWorkerCommand } from './commands/worker.ts';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('nasnet')
  .description('Event-sourced neural architecture search (NASNet cells, PPO controller) you can replay and audit')
  .version(version)
  .option('--debug', 'print stack traces of errors')
  .showHelpAfterError()
  .exitOverride();

// `nasnet events | head`: a reader that stops early is not an error, and reads nothing more.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

registerSearchCommands(program);
registerWorkerCommand(program);
registerStatusCommands(program);
registerAuditCommand(program);
registerReplayCommand(program);
registerEventsCommand(program);
registerGenotypeCommand(program);
registerParamsCommand(program);
registerTrainCommand(program);
registerDoctorCommand(program);
registerServeCommand(program);

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander printed the message (and the help hint) already.
    process.exitCode = error.exitCode;
  } else {
    const debug = process.argv.includes('--debug');
    process.stderr.write(
      `nasnet: ${debug && error instanceof Error ? error.stack : error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  }
}
