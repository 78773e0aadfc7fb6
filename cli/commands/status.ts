import type { Command } from 'commander';
import { loadExperiment } from '../../core/runtime/controller-loop.ts';
import { bestSamples, summarize } from '../../core/runtime/experiment-state.ts';
import { dartsText } from '../../core/search-space/darts.ts';
import { cellDot, genotypeText } from '../../core/search-space/render.ts';
import { oneOf, wholeNumber } from '../flags.ts';
import { storeOption, withStore } from '../store-access.ts';

const FORMATS = ['json', 'text', 'dot', 'darts'] as const;

/** `nasnet status` and `nasnet export`: read straight from the log, so they are right even while the search runs. */
export function registerStatusCommands(program: Command): void {
  program
    .command('status')
    .description("an experiment's progress: samples, completed and failed trials, best reward, policy version")
    .argument('<experimentId>')
    .addOption(storeOption())
    .option('--json', 'print {experimentId, status, samples, completed, failed, bestReward, bestSampleId, policyVersion}', false)
    .action((experimentId: string, options: { store: string; json: boolean }) =>
      withStore(options.store, async (store) => {
        const state = await loadExperiment(store, experimentId);
        const summary = summarize(state);
        const running = [...state.trials.values()].filter((trial) => trial.claim !== null).length;
        if (options.json) {
          process.stdout.write(`${JSON.stringify(summary)}\n`);
          return;
        }
        const budget = (state.config as { samples?: number }).samples;
        process.stdout.write(
          `experiment ${experimentId}: ${summary.status}\n` +
            `  samples   ${summary.samples}${budget ? ` of ${budget}` : ''} drawn, ${summary.completed} rewarded, ${summary.failed} failed, ${running} training now\n` +
            `  best      ${summary.bestReward === null ? '—' : `${(summary.bestReward * 100).toFixed(2)}% (${summary.bestSampleId})`}\n` +
            `  policy    v${summary.policyVersion}\n`,
        );
      }),
    );

  program
    .command('export')
    .description("an experiment's best cells (distinct by canonical hash)")
    .argument('<experimentId>')
    .addOption(storeOption())
    .option('--top <k>', 'how many cells', wholeNumber('--top', 1), 5)
    .option('--format <format>', FORMATS.join('|'), oneOf('--format', FORMATS), 'json')
    .action((experimentId: string, options: { store: string; top: number; format: (typeof FORMATS)[number] }) =>
      withStore(options.store, async (store) => {
        const best = bestSamples(await loadExperiment(store, experimentId), options.top);
        const lines = best.map(({ sample, reward }, rank) => {
          const title = `#${rank + 1} ${sample.sampleId} cell ${sample.cellHash} reward ${reward}`;
          switch (options.format) {
            case 'json':
              return JSON.stringify({
                rank: rank + 1,
                sampleId: sample.sampleId,
                index: sample.index,
                reward,
                cellHash: sample.cellHash,
                policyVersion: sample.policyVersion,
                genotype: sample.genotype,
              });
            case 'text':
              return `${title}\n${genotypeText(sample.genotype)}\n`;
            case 'darts':
              return `# ${title}\n${dartsText(sample.genotype)}`;
            case 'dot':
              return `// ${title}\n${cellDot(sample.genotype, 'normal')}\n${cellDot(sample.genotype, 'reduction')}`;
          }
        });
        process.stdout.write(lines.length ? `${lines.join('\n')}\n` : '');
        if (lines.length === 0) process.stderr.write(`experiment ${experimentId} has no rewarded samples yet\n`);
      }),
    );
}
