import cliProgress from 'cli-progress';
import type { ControllerActivity } from '../core/runtime/controller-loop.ts';
import type { WorkerActivity } from '../core/runtime/trial-runner.ts';

export type Activity = ControllerActivity | WorkerActivity;

export interface ProgressDisplay {
  onActivity(activity: Activity): void;
  /** A line that must not be torn by the bar. */
  log(line: string): void;
  stop(): void;
}

/**
 * How a running search shows itself: `--json` prints every activity as a JSON line (for
 * programs); on a terminal, a progress bar over the sample budget with the best reward so
 * far, and one line per finished trial; elsewhere (a log file, CI) plain lines only.
 */
export function progressDisplay(options: {
  json: boolean;
  samples: number;
  alreadyRewarded?: number;
  stream?: NodeJS.WriteStream;
}): ProgressDisplay {
  const out = options.stream ?? process.stdout;
  if (options.json) {
    return {
      onActivity: (activity) => out.write(`${JSON.stringify({ event: activity.kind, ...activity, kind: undefined })}\n`),
      log: () => {},
      stop: () => {},
    };
  }
  const describe = (activity: Activity): string | null => {
    switch (activity.kind) {
      case 'sampled':
        return `policy v${activity.policyVersion} sampled ${activity.indices.length} architectures (#${activity.indices[0]}–#${activity.indices.at(-1)})`;
      case 'completed':
        return 'sampleId' in activity
          ? `${activity.sampleId} trained: validation accuracy ${(activity.reward * 100).toFixed(1)}% in ${activity.seconds.toFixed(1)} s`
          : 'experiment completed';
      case 'reused':
        return `${activity.sampleId} is the same cell as ${activity.fromSampleId}: reward ${(activity.reward * 100).toFixed(1)}% reused`;
      case 'failed':
        return `${activity.sampleId} attempt ${activity.attempt} failed${activity.final ? ' for good' : ' (will retry)'}: ${activity.reason}`;
      case 'released':
        return `${activity.sampleId} released: ${activity.reason}`;
      case 'updated':
        return `policy updated to v${activity.policyVersion}: batch mean reward ${(activity.meanReward * 100).toFixed(1)}%, baseline ${activity.baseline === null ? '—' : (activity.baseline * 100).toFixed(1) + '%'}`;
      case 'stopped':
        return `experiment stopped: ${activity.reason}`;
      case 'resumed':
        return `resuming at policy v${activity.policyVersion} with ${activity.samples} samples drawn`;
      case 'claimed':
        return activity.takeoverFrom
          ? `${activity.sampleId} taken over from ${activity.takeoverFrom} (attempt ${activity.attempt})`
          : null;
      case 'skipped-experiment':
        return `skipping experiment ${activity.experimentId}: ${activity.reason}`;
      case 'warning':
        return `warning: ${activity.message}`;
      default:
        return null;
    }
  };
  let rewarded = options.alreadyRewarded ?? 0;
  let best = -Infinity;
  let version = 0;
  if (!out.isTTY) {
    return {
      onActivity: (activity) => {
        const line = describe(activity);
        if (line) out.write(`${line}\n`);
      },
      log: (line) => out.write(`${line}\n`),
      stop: () => {},
    };
  }
  const bars = new cliProgress.MultiBar(
    {
      format: ' {bar} {value}/{total} samples rewarded | best {best} | policy v{version} | {eta_formatted} left',
      hideCursor: true,
      clearOnComplete: false,
      stream: out,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = bars.create(options.samples, rewarded, { best: '—', version });
  return {
    onActivity: (activity) => {
      if (activity.kind === 'reward') {
        rewarded++;
        best = Math.max(best, activity.reward);
      }
      if (activity.kind === 'updated') version = activity.policyVersion;
      const line = describe(activity);
      if (line) bars.log(`${line}\n`);
      bar.update(rewarded, { best: Number.isFinite(best) ? `${(best * 100).toFixed(1)}%` : '—', version });
    },
    log: (line) => bars.log(`${line}\n`),
    stop: () => bars.stop(),
  };
}
