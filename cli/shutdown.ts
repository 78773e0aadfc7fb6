/**
 * SIGINT/SIGTERM stop the work cleanly: the signal is aborted with the signal's name as the
 * reason (it ends up in ExperimentStopped and TrialReleased). A second signal exits at once.
 */
export function shutdownSignal(onFirst: (name: string) => void): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    onFirst(name);
    controller.abort(new Error(name));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
