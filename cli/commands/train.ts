import { InvalidArgumentError, type Command } from 'commander';
import { filtersForPenultimate } from '../../plugins/trainers/network/nasnet-plan.ts';
import { JobRunner } from '../../plugins/trainers/tfjs/run-job.ts';
import { BACKENDS, loadTf, type BackendChoice } from '../../plugins/trainers/tfjs/tf-runtime.ts';
import { loadGenotype } from './genotype.ts';

const number = (flag: string, integer: boolean) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`${flag} must be ${integer ? 'a whole number' : 'a number'}, got ${JSON.stringify(value)}`);
  return n;
};

interface TrainOptions {
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
  json: boolean;
}

/**
 * `nasnet train`: trains one genotype at a chosen size and reports validation and test
 * accuracy. (Recording it as a transfer- stream of events comes with the search runtime.)
 */
export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train a genotype (nasnet-a or a file) at a chosen N and size on a dataset, and report its accuracy')
    .option('--genotype <genotype>', 'nasnet-a, or a genotype JSON file', 'nasnet-a')
    .option('--dataset <name>', 'fashion-mnist-mini, fashion-mnist, cifar10, or a directory', 'fashion-mnist-mini')
    .requiredOption('--N <n>', 'normal cells per stack', number('--N', true))
    .option('--F <f>', 'filters in the penultimate layer (the paper\'s "N @ F")', number('--F', true))
    .option('--filters <f>', 'filters of the first stack instead of --F', number('--filters', true))
    .option('--epochs <n>', 'training epochs', number('--epochs', true), 1)
    .option('--batch-size <n>', 'batch size (default 64)', number('--batch-size', true))
    .option('--optimizer <name>', 'sgd (momentum 0.9, cosine decay; default) or adam')
    .option('--lr <rate>', 'initial learning rate (default 0.05)', number('--lr', false))
    .option('--weight-decay <w>', 'L2 weight decay (default 5e-4)', number('--weight-decay', false))
    .option('--drop-path <p>', 'ScheduledDropPath final drop probability (default 0)', number('--drop-path', false))
    .option('--aux-head', 'train with the auxiliary head (loss weight 0.4)')
    .option('--max-train-examples <n>', 'train on at most n examples', number('--max-train-examples', true))
    .option('--no-augment', 'no random crops/flips')
    .option('--seed <n>', 'seed for weights, data order and augmentation', number('--seed', true), 1)
    .option('--backend <name>', `force a backend: ${BACKENDS.join(', ')}`, (value: string) => {
      if (!(BACKENDS as readonly string[]).includes(value)) throw new InvalidArgumentError(`--backend must be one of ${BACKENDS.join(', ')}, got ${JSON.stringify(value)}`);
      return value as BackendChoice;
    })
    .option('--json', 'print progress and the result as JSON lines', false)
    .action(async (options: TrainOptions) => {
      const genotype = await loadGenotype(options.genotype);
      if ((options.F === undefined) === (options.filters === undefined)) throw new Error('give the size as --F (penultimate filters) or --filters, not both or neither');
      const filters = options.filters ?? filtersForPenultimate(genotype, options.F!);
      const runtime = await loadTf(options.backend);
      const runner = new JobRunner(runtime);
      const print = (line: Record<string, unknown>, text: string) => process.stdout.write(options.json ? `${JSON.stringify(line)}\n` : `${text}\n`);
      print({ backend: runtime.backend, device: runtime.device }, `training on ${runtime.backend} (${runtime.device}), N = ${options.N}, ${filters} filters`);
      const result = await runner.run(
        {
          experimentId: 'train',
          sampleId: 'train-0',
          attempt: 1,
          genotype,
          network: { N: options.N, filters },
          dataset: options.dataset,
          epochs: options.epochs,
          seed: options.seed,
          settings: {
            batchSize: options.batchSize,
            optimizer: options.optimizer,
            learningRate: options.lr,
            weightDecay: options.weightDecay,
            dropPath: options.dropPath,
            auxHead: options.auxHead,
            maxTrainExamples: options.maxTrainExamples,
            augment: options.augment,
            evaluateTest: true,
          },
        },
        {
          signal: new AbortController().signal,
          progress: (p) =>
            print(
              { epoch: p.epoch, epochs: p.epochs, ...p.metrics },
              `epoch ${p.epoch}/${p.epochs}: ${Object.entries(p.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`,
            ),
        },
      );
      print(
        { result },
        `validation accuracy ${(result.validationAccuracy * 100).toFixed(2)}%, test accuracy ${((result.testAccuracy ?? 0) * 100).toFixed(2)}%, ` +
          `${(result.params / 1e6).toFixed(3)}M parameters, ${result.imagesPerSec.toFixed(1)} images/s, ${result.seconds.toFixed(0)} s`,
      );
    });
}
