import { InvalidArgumentError, type Command } from 'commander';
import { buildNasnetPlan } from '../../plugins/trainers/network/nasnet-plan.ts';
import { DATASET_NETWORKS, networkOptions, type DatasetNetwork } from '../../plugins/trainers/network/network-options.ts';
import { planTotals } from '../../plugins/trainers/network/plan.ts';
import { GENOTYPE_SOURCES, loadGenotype } from './genotype.ts';

function whole(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${flag} must be a whole number >= 1, got ${JSON.stringify(value)}`);
    return n;
  };
}

interface ParamsOptions {
  genotype: string;
  N: number;
  F?: number;
  filters?: number;
  dataset: DatasetNetwork;
  imageSize?: number;
  classes?: number;
  stemFilters?: number;
  skipReductionInput: boolean;
  auxHead: boolean;
  json: boolean;
}

/** `nasnet params`: parameters and multiply-adds of a child network, without building it. */
export function registerParamsCommand(program: Command): void {
  program
    .command('params')
    .description('count the parameters and multiply-adds of a NASNet network built from a genotype (nothing is trained)')
    .option('--genotype <genotype>', GENOTYPE_SOURCES, 'nasnet-a')
    .requiredOption('--N <n>', 'normal cells per stack', whole('--N'))
    .option('--F <f>', 'filters in the penultimate layer (the paper\'s "N @ F")', whole('--F'))
    .option('--filters <f>', 'filters of the first stack instead of --F', whole('--filters'))
    .option(
      '--dataset <name>',
      `input and stem: ${Object.keys(DATASET_NETWORKS).join(', ')}`,
      (value: string) => {
        if (!(value in DATASET_NETWORKS))
          throw new InvalidArgumentError(
            `--dataset must be one of ${Object.keys(DATASET_NETWORKS).join(', ')}, got ${JSON.stringify(value)}`,
          );
        return value as DatasetNetwork;
      },
      'cifar10',
    )
    .option('--image-size <s>', "input height and width (default: the dataset's)", whole('--image-size'))
    .option('--classes <n>', "output classes (default: the dataset's)", whole('--classes'))
    .option(
      '--stem-filters <n>',
      'stem convolution filters (default: 32 for imagenet, 3 × filters otherwise)',
      whole('--stem-filters'),
    )
    .option('--skip-reduction-input', "cells after a reduction cell read its h[i-1] (the paper's large ImageNet model)", false)
    .option('--aux-head', 'count the auxiliary head too', false)
    .option('--json', 'print {params, multAdds, ...} as JSON', false)
    .action(async (options: ParamsOptions) => {
      const genotype = await loadGenotype(options.genotype);
      const network = networkOptions({ ...options, genotype });
      const plan = buildNasnetPlan(network);
      const totals = planTotals(plan, { auxHead: options.auxHead });
      const result = {
        params: totals.trainableParams,
        multAdds: totals.multAdds,
        paramsWithBatchNormStatistics: totals.params,
        auxHead: options.auxHead,
        N: network.N,
        filters: network.filters,
        penultimateFilters: plan.nodes[plan.features]!.shape[2],
        imageShape: network.imageShape,
        classes: network.classes,
        stemFilters: network.stemFilters,
      };
      if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else {
        process.stdout.write(
          `${(result.params / 1e6).toFixed(2)}M parameters, ${(result.multAdds / 1e6).toFixed(0)}M multiply-adds` +
            ` (N = ${result.N}, ${result.filters} filters, penultimate ${result.penultimateFilters}, input ${result.imageShape.join('×')}${options.auxHead ? ', with auxiliary head' : ''})\n`,
        );
      }
    });
}
