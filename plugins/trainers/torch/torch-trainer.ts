import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TrainerFactory } from '../../../core/runtime/trainer-plugin.ts';
import { ProcessTrainer, processTrainerOptions } from '../process/process-trainer.ts';

/** The reference PyTorch trainer, a program of the process protocol like any other. */
export const TORCH_TRAINER_SCRIPT = fileURLToPath(new URL('./nasnet_torch_trainer.py', import.meta.url));

/**
 * The Python that has torch: $NASNET_PYTHON, else Debian's (python3-torch installs there,
 * and a python3 earlier on PATH, e.g. pyenv's, often lacks it), else python3 on PATH.
 */
export function torchPython(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.NASNET_PYTHON) return env.NASNET_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/**
 * `--trainer torch`: options are the process trainer's (env, timeoutSeconds, graceSeconds,
 * training settings) plus `python`; the command is fixed.
 */
export const createTrainer: TrainerFactory = ({ options }) => {
  const { python = torchPython(), ...rest } = options;
  if ('command' in rest)
    throw new RangeError('torch trainer: option command is fixed (use --trainer process for a program of your own)');
  if (typeof python !== 'string' || python.length === 0)
    throw new RangeError(`torch trainer: option python must be the path of a Python with torch (got ${JSON.stringify(python)})`);
  return new ProcessTrainer(
    processTrainerOptions({ ...rest, command: [python, TORCH_TRAINER_SCRIPT] }, { name: 'torch', backend: 'pytorch' }),
  );
};
