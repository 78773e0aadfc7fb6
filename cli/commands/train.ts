import type { Command } from 'commander';
import type { EventData } from '../../core/events/catalogue.ts';
import type { JsonObject } from '../../core/events/json.ts';
import { TrainingFailure, type TrainingResult } from '../../core/runtime/trainer-plugin.ts';
import { TransferLog } from '../../core/runtime/transfer-log.ts';
import { WrongExpectedVersionError } from '../../core/store/errors.ts';
import { DatasetError } from '../../plugins/datasets/dataset.ts';
import { cellOutputWidth, filtersForPenultimate } from '../../plugins/trainers/network/nasnet-plan.ts';
import { JobRunner } from '../../plugins/trainers/tfjs/run-job.ts';
import { BACKENDS, loadTf, type BackendChoice } from '../../plugins/trainers/tfjs/tf-runtime.ts';
import { trainSettings } from '../../plugins/trainers/training-settings.ts';
import { integer, nonNegativeNumber, oneOf, positiveNumber, wholeNumber } from '../flags.ts';
import { checkTransferId, newTransferId, resolveGenotypeSource } from '../resolve-source.ts';
import { GENOTYPE_SOURCES } from './genotype.ts';
import { storeOption, withStoreOnDemand } from '../store-access.ts';

interface TrainOptions {
  lrSchedule?: string;
  bnRecalibration?: number;
  genotype: string;
  dataset: string;
  N: number;
  F?: number;
  filters?: number;
  epochs: number;
  batchSize?: number;
  optimizer?: string;
  lr?: number;
  weightDecay?: number;
  dropPath?: number;
  auxHead?: boolean;
  maxTrainExamples?: number;
  augment: boolean;
  seed: number;
  backend?: BackendChoice;
  store: string;
  transferId?: string;
  json: boolean;
}

/** Metrics go into events as JSON numbers: a diverged loss (NaN) is left out rather than refused. */
function finiteMetrics(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, value]) => Number.isFinite(value)));
}

function resultData(transferId: string, result: TrainingResult): EventData<'TransferCompleted'> {
  // A diverged run has no loss to report, and JSON has no NaN.
  return { transferId, ...result, loss: Number.isFinite(result.loss) ? result.loss : null };
}

/**
 * `nasnet train`: trains one genotype at a chosen size, reports validation and test accuracy,
 * and records the run as a `transfer-<id>` stream (TransferRequested → TransferProgressed… →
 * TransferCompleted / TransferFailed). Everything that can be checked is checked before the
 * store is opened, so bad input leaves the store as it was.
 */
export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description(
      'train a genotype (a published cell, a file, DARTS text, or a sample of a search) at a chosen N and size on a dataset, report its accuracy and record it as a transfer',
    )
    .option('--genotype <genotype>', `${GENOTYPE_SOURCES}, <experimentId>#best or <experimentId>#<sampleId>`, 'nasnet-a')
    .option('--dataset <name>', 'fashion-mnist-mini, fashion-mnist, cifar10, or a directory', 'fashion-mnist-mini')
    .requiredOption('--N <n>', 'normal cells per stack', wholeNumber('--N', 1))
    .option('--F <f>', 'filters in the penultimate layer (the paper\'s "N @ F")', wholeNumber('--F', 1))
    .option('--filters <f>', 'filters of the first stack instead of --F', wholeNumber('--filters', 1))
    .option('--epochs <n>', 'training epochs', wholeNumber('--epochs', 1), 1)
    .option('--batch-size <n>', 'batch size (default 64)', wholeNumber('--batch-size', 1))
    .option('--optimizer <name>', 'sgd (momentum 0.9, cosine decay; default) or adam')
    .option('--lr <rate>', 'initial learning rate (default 0.05)', positiveNumber('--lr'))
    .option('--weight-decay <w>', 'L2 weight decay (default 5e-4)', nonNegativeNumber('--weight-decay'))
    .option('--drop-path <p>', 'ScheduledDropPath final drop probability (default 0)', nonNegativeNumber('--drop-path'))
    .option('--aux-head', 'train with the auxiliary head (loss weight 0.4)')
    .option('--max-train-examples <n>', 'train on at most n examples', wholeNumber('--max-train-examples', 0))
    .option('--lr-schedule <schedule>', 'cosine (decay to 0 over the run; default) or constant')
    .option(
      '--bn-recalibration <images>',
      'training images whose batch-norm statistics replace the moving averages before evaluating (default 512; 0 keeps the moving averages)',
      wholeNumber('--bn-recalibration', 0),
    )
    .option('--no-augment', 'no random crops/flips')
    .option('--seed <n>', 'seed for weights, data order and augmentation', integer('--seed'), 1)
    .option('--backend <name>', `force a backend: ${BACKENDS.join(', ')}`, oneOf('--backend', BACKENDS))
    .addOption(storeOption('event store to record the transfer in'))
    .option('--transfer-id <id>', 'id of the transfer stream (default t-<yyyymmdd-hhmmss>-<4 hex>, UTC)')
    .option('--json', 'print progress and the result as JSON lines', false)
    .action(async (options: TrainOptions) => {
      if ((options.F === undefined) === (options.filters === undefined))
        throw new Error('give the size as --F (penultimate filters) or --filters, not both or neither');
      const transferId = options.transferId ?? newTransferId();
      const stream = checkTransferId(transferId);
      await withStoreOnDemand(options.store, async (getStore) => {
        try {
          const { source, genotype, reward } = await resolveGenotypeSource(options.genotype, getStore);
          const filters = options.filters ?? filtersForPenultimate(genotype, options.F!);
          const F = options.F ?? 4 * cellOutputWidth(genotype, 'normal') * filters;
          const jobSettings = {
            batchSize: options.batchSize,
            optimizer: options.optimizer,
            learningRate: options.lr,
            weightDecay: options.weightDecay,
            dropPath: options.dropPath,
            auxHead: options.auxHead,
            maxTrainExamples: options.maxTrainExamples,
            learningRateSchedule: options.lrSchedule,
            batchNormRecalibration: options.bnRecalibration,
            augment: options.augment,
            evaluateTest: true,
          };
          // What JobRunner will train with, resolved here so a bad setting fails before anything is written.
          const settings = trainSettings({ epochs: options.epochs, seed: options.seed }, jobSettings);
          const runtime = await loadTf(options.backend);
          const opened = await getStore();
          if ((await opened.readStream(stream, { maxCount: 1 })).exists) {
            throw new Error(
              `--transfer-id ${JSON.stringify(transferId)}: that transfer is already in the store ${options.store}; choose another id`,
            );
          }

          const print = (line: Record<string, unknown>, text: string) =>
            process.stdout.write(options.json ? `${JSON.stringify(line)}\n` : `${text}\n`);
          print(
            { transferId, source, ...(reward === null ? {} : { reward }), backend: runtime.backend, device: runtime.device },
            `transfer ${transferId} (${options.store}): ${source}${reward === null ? '' : ` (reward ${reward})`}\n` +
              `training on ${runtime.backend} (${runtime.device}), N = ${options.N}, ${filters} filters`,
          );
          const log = new TransferLog(opened, transferId, stream);
          const config: JsonObject = { ...settings, filters, backend: runtime.backend, device: runtime.device };
          await log.append('TransferRequested', {
            transferId,
            source,
            genotype,
            N: options.N,
            F,
            dataset: options.dataset,
            config,
          });

          const abort = new AbortController();
          // Ctrl-C ends the run between steps and records it as a retryable failure; a second one kills.
          const onInterrupt = () => abort.abort();
          process.once('SIGINT', onInterrupt);
          let result: TrainingResult;
          try {
            result = await new JobRunner(runtime).run(
              {
                experimentId: 'train',
                sampleId: 'train-0',
                attempt: 1,
                genotype,
                network: { N: options.N, filters },
                dataset: options.dataset,
                epochs: options.epochs,
                seed: options.seed,
                settings: jobSettings,
              },
              {
                signal: abort.signal,
                progress: (p) => {
                  // A failed append surfaces at flush(), after the training returns.
                  log
                    .append(
                      'TransferProgressed',
                      { transferId, epoch: p.epoch, epochs: p.epochs, metrics: finiteMetrics(p.metrics) },
                      p.epoch,
                    )
                    .catch(() => undefined);
                  print(
                    { epoch: p.epoch, epochs: p.epochs, ...p.metrics },
                    `epoch ${p.epoch}/${p.epochs}: ${Object.entries(p.metrics)
                      .map(([k, v]) => `${k} ${v.toFixed(4)}`)
                      .join(', ')}`,
                  );
                },
              },
            );
            await log.flush();
          } catch (error) {
            await log.flush().catch(() => undefined);
            const reason = (error as Error).message || String(error);
            // A missing dataset fails again on every attempt; other unexpected errors (as in the
            // pool's workers) may not recur.
            const retryable = error instanceof TrainingFailure ? error.retryable : !(error instanceof DatasetError);
            await log.append('TransferFailed', { transferId, reason, retryable });
            throw error;
          } finally {
            process.off('SIGINT', onInterrupt);
          }
          await log.append('TransferCompleted', resultData(transferId, result));
          print(
            { transferId, result },
            `validation accuracy ${(result.validationAccuracy * 100).toFixed(2)}%, test accuracy ${((result.testAccuracy ?? 0) * 100).toFixed(2)}%, ` +
              `${(result.params / 1e6).toFixed(3)}M parameters, ${result.imagesPerSec.toFixed(1)} images/s, ${result.seconds.toFixed(0)} s`,
          );
        } catch (error) {
          if (error instanceof WrongExpectedVersionError) {
            throw new Error(
              `--transfer-id ${JSON.stringify(transferId)}: another process is writing that transfer (${error.message})`,
              { cause: error },
            );
          }
          throw error;
        }
      });
    });
}
