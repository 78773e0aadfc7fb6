import type { Command } from 'commander';
import { listExperiments } from '../../core/projections/queries.ts';
import { openReadModels, replay } from '../../core/projections/sqlite-projector.ts';
import { readModelsPath } from '../read-models.ts';
import { storeOption, withStore } from '../store-access.ts';

/** `nasnet replay`: drops the read models and rebuilds them from the log. */
export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description(
      'drop the read models (experiments, samples, trials, policy updates, best cells) and rebuild them from the event log',
    )
    .addOption(storeOption())
    .option(
      '--projections <path>',
      'SQLite file of the read models (default: the store file, or .nasnet/projections.db for EventStoreDB)',
    )
    .option('--json', 'print {position, experiments, seconds} as JSON', false)
    .action((options: { store: string; projections?: string; json: boolean }) =>
      withStore(options.store, async (store) => {
        const db = await openReadModels(readModelsPath(options.store, options.projections));
        try {
          const started = performance.now();
          const position = await replay(store, db);
          const seconds = Math.round(performance.now() - started) / 1000;
          const experiments = (await listExperiments(db)).length;
          process.stdout.write(
            options.json
              ? `${JSON.stringify({ position: position.toString(), experiments, seconds })}\n`
              : `read models rebuilt up to position ${position} (${experiments} experiment${experiments === 1 ? '' : 's'}) in ${seconds} s\n`,
          );
        } finally {
          await db.close();
        }
      }),
    );
}
