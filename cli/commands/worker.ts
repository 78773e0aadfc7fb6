import type { Command } from 'commander';
import { loadExperiment } from '../../core/runtime/controller-loop.ts';
import { validateSearchConfig } from '../../core/runtime/search-config.ts';
import { runWorker } from '../../core/runtime/trial-runner.ts';
import { localHolderAlive, newWorkerId } from '../../core/runtime/worker-identity.ts';
import { BACKENDS } from '../../plugins/trainers/tfjs/tf-runtime.ts';
import { commandLine, identifier, oneOf, UsageError, wholeNumber } from '../flags.ts';
import { progressDisplay } from '../search-progress.ts';
import { shutdownSignal } from '../shutdown.ts';
import { storeOption, withStore } from '../store-access.ts';
import { isModulePath, resolveTrainer } from '../trainers.ts';

/** `nasnet worker`: trains sampled architectures of running searches, from another process or machine. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('join running searches as a trainer: claim sampled architectures, train them, report rewards')
    .addOption(storeOption('the same store as the search'))
    .option('--experiment <id>', 'only this experiment (then exit when it completes)', identifier('--experiment'))
    .option(
      '--trainer <name|path>',
      "tfjs, torch, process, synthetic, or a plugin module path (default: with --experiment, the experiment's; else tfjs)",
    )
    .option(
      '--trainer-command <cmd>',
      'with --trainer process: the program that trains, e.g. "python3 my_trainer.py"',
      commandLine('--trainer-command'),
    )
    .option('--backend <name>', `tfjs backend: ${BACKENDS.join(', ')}`, oneOf('--backend', BACKENDS))
    .option('--workers <k>', 'trainings at once', wholeNumber('--workers', 1), 1)
    .option('--json', 'JSON lines', false)
    .action(
      async (options: {
        store: string;
        experiment?: string;
        trainer?: string;
        trainerCommand?: string[];
        backend?: string;
        workers: number;
        json: boolean;
      }) => {
        await withStore(options.store, async (store) => {
          // Joining one experiment, the worker trains it the way the experiment was configured.
          const config = options.experiment
            ? validateSearchConfig((await loadExperiment(store, options.experiment)).config)
            : null;
          const trainer = options.trainer ?? (config ? (config.trainerModule ?? config.trainer) : 'tfjs');
          const named = isModulePath(trainer) ? null : trainer;
          if (options.backend && named !== 'tfjs')
            throw new UsageError(`--backend applies to the tfjs trainer only (the trainer is ${JSON.stringify(trainer)})`);
          if (options.trainerCommand && named !== 'process')
            throw new UsageError(
              `--trainer-command applies to --trainer process only (the trainer is ${JSON.stringify(trainer)})`,
            );
          const mismatch = (name: string) =>
            new UsageError(
              `--trainer: experiment ${options.experiment} is configured for trainer ${JSON.stringify(config?.trainer)}, not ${JSON.stringify(name)}`,
            );
          // A built-in name is checked before the experiment's trainer options reach a trainer they were not written for.
          if (config && named !== null && config.trainerModule === undefined && named !== config.trainer) throw mismatch(named);
          const plugin = await resolveTrainer(trainer, {
            concurrency: options.workers,
            options: {
              ...(config?.trainerOptions ?? {}),
              ...(options.backend ? { backend: options.backend } : {}),
              ...(options.trainerCommand ? { command: options.trainerCommand } : {}),
            },
          });
          if (config && plugin.name !== config.trainer) {
            await plugin.close?.();
            throw mismatch(plugin.name);
          }
          const workerId = newWorkerId();
          const display = progressDisplay({
            json: options.json,
            samples: 0,
            stream: process.stdout.isTTY ? undefined : process.stdout,
          });
          if (!options.json)
            display.log(
              `worker ${workerId}: trainer ${plugin.name}, ${options.workers} at once, ${options.experiment ? `experiment ${options.experiment}` : 'every running experiment'} in ${options.store}; Ctrl-C stops`,
            );
          const { signal, dispose } = shutdownSignal((name) => display.log(`${name}: releasing running trials`));
          try {
            const report = await runWorker({
              store,
              plugin,
              workerId,
              concurrency: options.workers,
              experimentId: options.experiment,
              signal,
              exitWhenDone: options.experiment !== undefined,
              holderAlive: localHolderAlive,
              onActivity: display.onActivity,
            });
            display.stop();
            process.stdout.write(
              options.json
                ? `${JSON.stringify({ workerId, ...report })}\n`
                : `worker ${workerId}: ${report.trained} trained, ${report.reused} reused, ${report.failed} failed for good, ${report.released} released\n`,
            );
          } finally {
            dispose();
            await plugin.close?.();
          }
        });
      },
    );
}
