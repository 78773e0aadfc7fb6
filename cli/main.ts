import { Command, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { registerAuditCommand } from './commands/audit.ts';
import { registerEventsCommand } from './commands/events.ts';
import { registerGenotypeCommand } from './commands/genotype.ts';
import { registerParamsCommand } from './commands/params.ts';
import { registerTrainCommand } from './commands/train.ts';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('nasnet')
  .description('Event-sourced neural architecture search (NASNet cells, PPO controller) you can replay and audit')
  .version(version)
  .showHelpAfterError();

registerEventsCommand(program);
registerAuditCommand(program);
registerGenotypeCommand(program);
registerParamsCommand(program);
registerTrainCommand(program);

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof InvalidArgumentError) throw error;
  process.stderr.write(`nasnet: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
