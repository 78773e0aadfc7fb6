import type { ExperimentState } from './experiment-state.ts';
import { validateSearchConfig, type SearchConfig } from './search-config.ts';
import type { WorkerActivity } from './worker-activity.ts';

/**
 * Which experiments a worker can run, decided once per experiment: those configured for its
 * trainer, with a configuration it understands. The others are reported once and skipped.
 */
export function runnableConfigs(
  pluginName: string,
  notify: (activity: WorkerActivity) => void,
): (state: ExperimentState) => SearchConfig | null {
  const configs = new Map<string, SearchConfig | null>();
  return (state) => {
    if (!configs.has(state.experimentId)) configs.set(state.experimentId, check(state));
    return configs.get(state.experimentId) ?? null;
  };

  function check(state: ExperimentState): SearchConfig | null {
    const skip = (reason: string) => (notify({ kind: 'skipped-experiment', experimentId: state.experimentId, reason }), null);
    let config: SearchConfig;
    try {
      config = validateSearchConfig(state.config);
    } catch (error) {
      return skip(`its configuration is not one this worker can run: ${(error as Error).message}`);
    }
    if (config.trainer !== pluginName)
      return skip(`it is configured for trainer ${config.trainer}, this worker runs ${pluginName}`);
    return config;
  }
}
