// A trainer program that misbehaves on request, for the process protocol's tests:
//   node test/support/fake-trainer.mjs <mode> [pid file]
// ok-many / ok-one: results (device = its pid); crash: exits 3; garbage: a non-JSON line;
// no-result: exits 0 after progress; slow: never answers (writes its pid to the file);
// schema: a result with validationAccuracy 1.5; failure: a failure line; chatty: a stray line between jobs.
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [mode, pidFile] = process.argv.slice(2);
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const result = (job, extra = {}) => ({
  validationAccuracy: 0.5,
  testAccuracy: null,
  loss: 1,
  params: job.params,
  multAdds: job.multAdds,
  seconds: 0.01,
  imagesPerSec: 1,
  backend: 'fake',
  device: `pid ${process.pid}`,
  ...extra,
});

if (mode !== 'ok-one') say({ hello: { protocol: 1, name: 'fake', jobs: 'many' } });
for await (const line of createInterface({ input: process.stdin })) {
  const { job } = JSON.parse(line);
  say({ progress: { epoch: 1, epochs: 1, metrics: { loss: 1 } } });
  if (mode === 'crash') {
    process.stderr.write('boom: out of cheese\n');
    process.exit(3);
  }
  if (mode === 'garbage') process.stdout.write('loading weights...\n');
  if (mode === 'no-result') process.exit(0);
  if (mode === 'slow') {
    if (pidFile) writeFileSync(pidFile, String(process.pid));
    setInterval(() => undefined, 1000);
    continue;
  }
  if (mode === 'schema') say({ result: result(job, { validationAccuracy: 1.5 }) });
  else if (mode === 'failure') say({ failure: { message: 'CUDA out of memory', retryable: true } });
  else if (mode === 'chatty') {
    // One write, so the stray line reaches the trainer with the result and not after the next job was sent.
    process.stdout.write(
      [{ result: result(job) }, { progress: { epoch: 1, epochs: 1, metrics: {} } }]
        .map((line) => `${JSON.stringify(line)}\n`)
        .join(''),
    );
  } else say({ result: result(job) });
  if (mode === 'ok-one') break;
}
