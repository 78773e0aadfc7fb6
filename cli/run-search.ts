import { readFileSync } from 'node:fs';
import { loadExperiment } from '../core/runtime/controller-loop.ts';
import { bestSamples, summarize, type ExperimentSummary } from '../core/runtime/experiment-state.ts';
import { runSearch } from '../core/runtime/search.ts';
import type { SearchConfig } from '../core/runtime/search-config.ts';
import type { TrainerPlugin } from '../core/runtime/trainer-plugin.ts';
import { localHolderAlive } from '../core/runtime/worker-identity.ts';
import { genotypeText } from '../core/search-space/render.ts';
import type { Genotype } from '../core/search-space/genotype.ts';
import type { EventStore } from '../core/store/port.ts';
import { progressDisplay } from './search-progress.ts';
import { followReadModels, readModelsPath } from './read-models.ts';
import { shutdownSignal } from './shutdown.ts';

export const CODE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface SearchSummary extends ExperimentSummary {
  best: { sampleId: string; reward: number; cellHash: string; genotype: Genotype } | null;
  seconds: number;
}

/**
 * Runs (or continues) a search in this process until it completes or a signal stops it, with
 * the progress display, and prints the summary: the last JSON line with `--json`, else the
 * best cells and what to do next.
 */
export async function runSearchCommand(input: {
  store: EventStore;
  storeAddress: string;
  experimentId: string;
  config: SearchConfig;
  plugin: TrainerPlugin | null;
  workers: number;
  writerId: string;
  json: boolean;
}): Promise<SearchSummary> {
  const { store, experimentId, config, json } = input;
  const started = performance.now();
  const before = summarize(await loadExperiment(store, experimentId));
  const display = progressDisplay({ json, samples: config.samples, alreadyRewarded: before.completed + before.failed });
  if (!json) {
    display.log(
      `experiment ${experimentId}: ${config.strategy} over ${config.samples} samples in batches of ${config.controller.batchSize ?? 20}, ${input.workers} local worker(s), trainer ${config.trainer}, ${config.dataset}`,
    );
    display.log(`store ${input.storeAddress}; Ctrl-C stops cleanly (resume with: nasnet resume ${experimentId})`);
  }
  const { signal, dispose } = shutdownSignal((name) =>
    display.log(`${name}: stopping — releasing running trials, press again to force`),
  );
  const readModels = await followReadModels(store, readModelsPath(input.storeAddress), (message) =>
    process.stderr.write(`nasnet: ${message}\n`),
  );
  try {
    await runSearch({
      store,
      experimentId,
      writerId: input.writerId,
      plugin: input.plugin,
      workers: input.workers,
      signal,
      holderAlive: localHolderAlive,
      onActivity: display.onActivity,
    });
  } finally {
    display.stop();
    dispose();
    await readModels.finish();
  }
  const state = await loadExperiment(store, experimentId);
  const top = bestSamples(state, 3);
  const summary: SearchSummary = {
    ...summarize(state),
    best: top[0]
      ? {
          sampleId: top[0].sample.sampleId,
          reward: top[0].reward,
          cellHash: top[0].sample.cellHash,
          genotype: top[0].sample.genotype,
        }
      : null,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const out: string[] = [];
    out.push(
      '',
      `experiment ${experimentId} ${summary.status}: ${summary.completed} trained or reused, ${summary.failed} failed, of ${summary.samples} sampled, in ${summary.seconds} s`,
    );
    top.forEach(({ sample, reward }, rank) => {
      out.push(
        '',
        `#${rank + 1} ${sample.sampleId} (cell ${sample.cellHash}): validation accuracy ${(reward * 100).toFixed(2)}%`,
      );
      out.push(
        ...genotypeText(sample.genotype)
          .split('\n')
          .map((line) => `   ${line}`),
      );
    });
    const store = input.storeAddress === 'sqlite:.nasnet/nasnet.db' ? '' : ` --store ${input.storeAddress}`;
    out.push('', 'next:');
    if (summary.status === 'stopped') out.push(`  nasnet resume ${experimentId}${store}            # continue where it stopped`);
    out.push(
      `  nasnet status ${experimentId}${store}            # counts and the best reward`,
      `  nasnet export ${experimentId} --top 5 --format text${store}   # the best cells (also json, dot, darts)`,
      `  nasnet audit ${experimentId}${store}             # replay every policy update and check it`,
      `  nasnet train --genotype ${experimentId}#best --N 1 --filters 8 --epochs 2${store}   # train the best cell longer`,
      `  nasnet events --stream experiment-${experimentId}${store}   # the raw event log`,
    );
    process.stdout.write(`${out.join('\n')}\n`);
  }
  return summary;
}
