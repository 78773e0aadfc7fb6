import type { Command } from 'commander';
import { auditStoredExperiment } from '../../core/audit/audit-store.ts';
import { storeOption, withStore } from '../store-access.ts';

/** `nasnet audit <id>`: replays the controller from its initial state and checks every sample and update. */
export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description(
      "re-derive an experiment's controller from its events and check every sample and policy update (exit 1 on a divergence)",
    )
    .argument('<experimentId>', 'the experiment to audit')
    .addOption(storeOption())
    .option('--json', 'print {ok, checkedSamples, checkedUpdates, firstDivergence} as JSON', false)
    .action((experimentId: string, options: { store: string; json: boolean }) =>
      withStore(options.store, async (store) => {
        const report = await auditStoredExperiment(store, experimentId);
        if (options.json) {
          process.stdout.write(`${JSON.stringify(report)}\n`);
        } else if (report.ok) {
          process.stdout.write(
            `audit passed: ${report.checkedSamples} samples and ${report.checkedUpdates} policy updates reproduced exactly\n`,
          );
        } else {
          const d = report.firstDivergence!;
          process.stdout.write(
            `audit FAILED at position ${d.position} (${d.eventType}): ${d.what}\n  expected: ${JSON.stringify(d.expected)}\n  found:    ${JSON.stringify(d.found)}\n` +
              `  (${report.checkedSamples} samples and ${report.checkedUpdates} updates matched before it)\n`,
          );
        }
        if (!report.ok) process.exitCode = 1;
      }),
    );
}
