import type { Command } from 'commander';
import { resolve as resolvePath } from 'node:path';
import { STRATEGY_NAMES } from '../../core/controller/strategy.ts';
import { createExperiment, loadExperiment } from '../../core/runtime/controller-loop.ts';
import { summarize } from '../../core/runtime/experiment-state.ts';
import { PRESET_NAMES, PRESETS } from '../../core/runtime/presets.ts';
import { validateSearchConfig } from '../../core/runtime/search-config.ts';
import type { TrainerPlugin } from '../../core/runtime/trainer-plugin.ts';
import { newWorkerId } from '../../core/runtime/worker-identity.ts';
import { loadDataset } from '../../plugins/datasets/resolve.ts';
import { BACKENDS } from '../../plugins/trainers/tfjs/tf-runtime.ts';
import { commandLine, identifier, oneOf, UsageError, wholeNumber } from '../flags.ts';
import { CODE_VERSION, runSearchCommand } from '../run-search.ts';
import { buildSearchConfig, newExperimentId, type SearchFlags } from '../search-config-builder.ts';
import { storeOption, withStore } from '../store-access.ts';
import { isModulePath, resolveTrainer } from '../trainers.ts';

interface SearchCommandOptions extends SearchFlags {
  store: string;
  experimentId?: string;
  json: boolean;
}

/** Loads the plugin a search needs; a module plugin is loaded even with no local workers, to learn its name. */
export async function loadPlugin(spec: string, workers: number, options: Record<string, unknown>): Promise<TrainerPlugin> {
  return resolveTrainer(spec, { concurrency: Math.max(1, workers), options });
}

/** Trainers that read a dataset for every job; a missing or corrupt one is reported here, once, before anything is written. */
const READS_DATASET = ['tfjs', 'torch', 'process'];

function checkDataset(trainer: string, dataset: string): void {
  if (!READS_DATASET.includes(trainer)) return;
  try {
    loadDataset(dataset);
  } catch (error) {
    throw new UsageError(`--dataset ${JSON.stringify(dataset)}: ${(error as Error).message}`);
  }
}

export function registerSearchCommands(program: Command): void {
  program
    .command('search')
    .description('run an architecture search: the controller and local trainer workers, every step an event')
    .addOption(storeOption())
    .option('--experiment-id <id>', 'name the experiment (default exp-<time>-<random>)', identifier('--experiment-id'))
    .option(
      '--preset <name>',
      `${PRESET_NAMES.join('|')}: a starting configuration (default demo)`,
      oneOf('--preset', PRESET_NAMES),
    )
    .option('--config <file>', 'a JSON file of configuration fields (over the preset, under the flags)')
    .option('--dataset <name>', 'fashion-mnist-mini, fashion-mnist, cifar10, or a directory')
    .option('--trainer <name|path>', 'tfjs, torch, process, synthetic, or a plugin module path')
    .option(
      '--trainer-command <cmd>',
      'with --trainer process: the program that trains, e.g. "python3 my_trainer.py"',
      commandLine('--trainer-command'),
    )
    .option('--backend <name>', `tfjs backend: ${BACKENDS.join(', ')}`, oneOf('--backend', BACKENDS))
    .option('--strategy <name>', STRATEGY_NAMES.join('|'), oneOf('--strategy', STRATEGY_NAMES))
    .option('--samples <n>', 'sample budget: architectures to draw and reward', wholeNumber('--samples', 1))
    .option('--batch <n>', 'architectures per policy update', wholeNumber('--batch', 1))
    .option(
      '--workers <k>',
      'local trainings at once (0: controller only; workers join with `nasnet worker`)',
      wholeNumber('--workers', 0),
    )
    .option('--N <n>', 'normal cells per stack of each child', wholeNumber('--N', 1))
    .option(
      '--F <f>',
      "child width as the paper's penultimate filters (each cell rounds to its own first-stack filters)",
      wholeNumber('--F', 1),
    )
    .option('--filters <f>', 'child width as first-stack filters', wholeNumber('--filters', 1))
    .option('--epochs <n>', 'training epochs per child', wholeNumber('--epochs', 1))
    .option('--seed <n>', 'experiment seed (controller sampling, child initialisation)', wholeNumber('--seed', 0))
    .option('--no-reuse', 'train every sample, even a cell already trained in this experiment')
    .option('--json', 'JSON lines instead of a progress bar; the last line is the summary', false)
    .action(async (options: SearchCommandOptions) => {
      const resolved = await buildSearchConfig(options);
      const { workers, seed } = resolved;
      let config = resolved.config;
      checkDataset(config.trainer, config.dataset);
      const experimentId = options.experimentId ?? newExperimentId();
      const writerId = newWorkerId();
      const plugin =
        workers > 0 || isModulePath(config.trainer) ? await loadPlugin(config.trainer, workers, config.trainerOptions) : null;
      try {
        if (plugin && isModulePath(config.trainer))
          config = validateSearchConfig({ ...config, trainer: plugin.name, trainerModule: resolvePath(config.trainer) });
        await withStore(options.store, async (store) => {
          await createExperiment(store, { experimentId, config, seed, codeVersion: CODE_VERSION, writerId });
          await runSearchCommand({
            store,
            storeAddress: options.store,
            experimentId,
            config,
            plugin: workers > 0 ? plugin : null,
            workers,
            writerId,
            json: options.json,
          });
        });
      } finally {
        await plugin?.close?.();
      }
    });

  program
    .command('resume')
    .description('continue a stopped or crashed experiment: unfinished trials run again, nothing is sampled twice')
    .argument('<experimentId>', 'the experiment to continue')
    .addOption(storeOption())
    .option('--workers <k>', "local trainings at once (default: the preset's)", wholeNumber('--workers', 0))
    .option('--trainer <name|path>', "the trainer (default: the experiment's)")
    .option('--json', 'JSON lines instead of a progress bar; the last line is the summary', false)
    .action((experimentId: string, options: { store: string; workers?: number; trainer?: string; json: boolean }) =>
      withStore(options.store, async (store) => {
        let plugin: TrainerPlugin | null = null;
        try {
          const state = await loadExperiment(store, experimentId);
          const config = validateSearchConfig(state.config);
          const workers =
            options.workers ??
            (config.preset && config.preset in PRESETS ? PRESETS[config.preset as keyof typeof PRESETS].workers : 1);
          if (state.status === 'completed') {
            const summary = summarize(state);
            process.stdout.write(
              options.json
                ? `${JSON.stringify(summary)}\n`
                : `experiment ${experimentId} is already completed (${summary.completed} of ${summary.samples} samples rewarded)\n`,
            );
            return;
          }
          if (workers > 0) {
            checkDataset(config.trainer, config.dataset);
            plugin = await loadPlugin(options.trainer ?? config.trainerModule ?? config.trainer, workers, config.trainerOptions);
            if (plugin.name !== config.trainer)
              throw new UsageError(
                `--trainer: experiment ${experimentId} was configured for trainer ${JSON.stringify(config.trainer)}, not ${JSON.stringify(plugin.name)}`,
              );
          }
          await runSearchCommand({
            store,
            storeAddress: options.store,
            experimentId,
            config,
            plugin,
            workers,
            writerId: newWorkerId(),
            json: options.json,
          });
        } finally {
          await plugin?.close?.();
        }
      }),
    );
}
