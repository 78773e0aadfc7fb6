// A trainer in plain JavaScript, speaking nasnet's process protocol 1 (README, "Trainers in any
// language"): nasnet search --trainer process --trainer-command "node plugins/examples/process-trainer.mjs".
// It scores a cell by its share of separable convolutions instead of training it: put yours here.
import { createInterface } from 'node:readline';

const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`); // stdout: protocol lines only

say({ hello: { protocol: 1, name: 'sep-conv-share', backend: 'node', device: 'CPU', jobs: 'many' } });
for await (const line of createInterface({ input: process.stdin })) {
  const { job } = JSON.parse(line);
  const started = performance.now();
  const ops = job.genotype.normal.flatMap((block) => [block[0], block[2]]);
  for (let epoch = 1; epoch <= job.epochs; epoch++)
    say({ progress: { epoch, epochs: job.epochs, metrics: { loss: 1 / epoch } } });
  say({
    result: {
      validationAccuracy: ops.filter((op) => op.startsWith('sep_conv')).length / ops.length,
      testAccuracy: null,
      loss: 0,
      params: job.params,
      multAdds: job.multAdds,
      seconds: (performance.now() - started) / 1000,
      imagesPerSec: 0,
      backend: 'node',
      device: 'CPU',
    },
  });
}
