"""nasnet's reference PyTorch child trainer: process trainer protocol v1 over stdin/stdout.

    /usr/bin/python3 plugins/trainers/torch/nasnet_torch_trainer.py

It prints a hello line, then for each job line ({"protocol": 1, "job": {...}}) read from stdin
prints progress lines and one result or failure line; at EOF it exits 0. Only protocol lines
go to stdout (anything else written there, by Python or native code, lands on stderr).
Environment: NASNET_TORCH_DEVICE=cpu|cuda forces the device (default: cuda when available),
NASNET_TORCH_THREADS sets the CPU threads, NASNET_TORCH_CUDNN_BENCHMARK=1 lets cuDNN pick
its fastest convolution algorithms on the first steps.
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the repository

import ctypes  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import torch  # noqa: E402

from data import DataError, Normaliser, Split, channel_stats, load_cached, shown  # noqa: E402
from job import JobError, check_data, check_plan, check_settings  # noqa: E402
from plan_network import plan_totals  # noqa: E402
from training import Diverged, Stopped, Trainer, device_split  # noqa: E402

PROTOCOL = 1
PR_SET_PDEATHSIG = 1


class Control:
    """SIGTERM: exit at once when idle; between two steps when training."""
    stop = False
    busy = False


def on_sigterm(_signum, _frame):
    Control.stop = True
    if not Control.busy:
        sys.exit(128 + signal.SIGTERM)


def die_with_parent():
    """Best effort: the kernel sends SIGTERM when the runtime that started us dies, so no
    orphaned trainer keeps a GPU busy."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def protocol_stream():
    """A private copy of stdout for protocol lines; fd 1 then points at stderr, so a library
    that prints cannot corrupt the protocol."""
    stream = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return stream


def choose_device():
    """(torch.device, description, error or None); an error fails every job, naming the variable."""
    forced = os.environ.get("NASNET_TORCH_DEVICE", "")
    threads = os.environ.get("NASNET_TORCH_THREADS", "")
    cpu = torch.device("cpu")
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            return cpu, "CPU", f"NASNET_TORCH_THREADS must be a whole number >= 1 (got {shown(threads)})"
        torch.set_num_threads(int(threads))
    if forced not in ("", "cpu", "cuda"):
        return cpu, "CPU", f'NASNET_TORCH_DEVICE must be "cpu" or "cuda" (got {shown(forced)})'
    if forced == "cuda" and not torch.cuda.is_available():
        return cpu, "CPU", f"NASNET_TORCH_DEVICE=cuda, but PyTorch {torch.__version__} sees no CUDA device"
    if forced != "cpu" and torch.cuda.is_available():
        torch.backends.cudnn.benchmark = os.environ.get("NASNET_TORCH_CUDNN_BENCHMARK") == "1"
        return torch.device("cuda"), f"CUDA {torch.cuda.get_device_name(0)}", None
    n = torch.get_num_threads()
    return cpu, f"CPU (PyTorch {torch.__version__}, {n} thread{'s' if n != 1 else ''})", None


def prepare_data(job, plan, settings, device):
    """The job's splits on the device, the normaliser and the augmentation."""
    data = job.get("data")
    if not isinstance(data, dict):
        raise JobError(f"data must be an object (got {shown(data)})")
    files = load_cached(data)
    augmentation = check_data(data, plan, files, settings)
    train_images, train_labels, test_images, test_labels = files
    train = device_split(train_images, train_labels, data["trainIndices"], device)
    mean, std = data.get("mean"), data.get("std")
    if mean is None or std is None:
        mean, std = channel_stats(train.images)
    test = Split(test_images.to(device), test_labels.to(device)) if settings["evaluateTest"] else None
    return {"train": train, "validation": device_split(train_images, train_labels, data["validationIndices"], device),
            "test": test, "normalise": Normaliser.of(mean, std, device), "augmentation": augmentation}


def run_job(job, device, device_name, emit):
    settings = check_settings(job)
    plan = check_plan(job)
    data = prepare_data(job, plan, settings, device)
    started = time.perf_counter()
    torch.manual_seed(settings["seed"])  # weights and drop-path masks
    try:
        trainer = Trainer(plan, settings, device, data)
        _, trainable, mult_adds = plan_totals(plan)
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise JobError(f"plan: cannot build a network from it: {type(error).__name__}: {error}") from error
    params = trainer.model.main_parameter_count()
    expected = job.get("params", trainable)
    if params != trainable or params != expected:
        raise JobError(f"plan: the torch network has {params} trainable parameters, the plan counts {trainable}"
                       f"{f' and the job says {expected}' if expected != trainable else ''}")
    measured = trainer.run(lambda p: emit({"progress": p}), lambda: Control.stop)
    return {
        "validationAccuracy": measured["validationAccuracy"],
        "testAccuracy": measured["testAccuracy"],
        "loss": measured["loss"],
        "params": params,
        "multAdds": job.get("multAdds", mult_adds),
        "seconds": time.perf_counter() - started,
        "imagesPerSec": measured["imagesPerSec"],
        "backend": "pytorch",
        "device": device_name,
        "evaluation": {"batchNorm": "recalibrated" if trainer.recalibration_images > 0 else "moving-average",
                       "recalibrationImages": trainer.recalibration_images},
    }


def failure(message, retryable):
    return {"failure": {"message": message, "retryable": retryable}}


def handle(line, device, device_name, device_error, emit):
    """One job line -> the result or failure line."""
    try:
        message = json.loads(line)
    except json.JSONDecodeError as error:
        return failure(f"the job line is not JSON: {error}", False)
    if not isinstance(message, dict) or message.get("protocol") != PROTOCOL or not isinstance(message.get("job"), dict):
        got = message.get("protocol") if isinstance(message, dict) else message
        return failure(f'expected a line {{"protocol": {PROTOCOL}, "job": {{...}}}} (got protocol {shown(got)})', False)
    if device_error:
        return failure(device_error, False)
    try:
        return {"result": run_job(message["job"], device, device_name, emit)}
    except (JobError, DataError, Diverged) as error:
        return failure(str(error), False)
    except Stopped:
        raise
    except Exception as error:  # noqa: BLE001 - any other failure may pass on another attempt
        traceback.print_exc(file=sys.stderr)
        return failure(f"{type(error).__name__}: {error}", True)
    finally:
        if device.type == "cuda":
            torch.cuda.empty_cache()


def main():
    die_with_parent()
    signal.signal(signal.SIGTERM, on_sigterm)
    out = protocol_stream()

    def emit(obj):
        out.write(json.dumps(obj, allow_nan=False) + "\n")
        out.flush()

    device, device_name, device_error = choose_device()
    emit({"hello": {"protocol": PROTOCOL, "name": "torch", "backend": "pytorch", "device": device_name, "jobs": "many"}})
    for line in sys.stdin:
        if not line.strip():
            continue
        Control.busy = True
        try:
            emit(handle(line, device, device_name, device_error, emit))
        except Stopped:
            emit(failure("training was stopped (SIGTERM)", True))
            sys.exit(128 + signal.SIGTERM)
        Control.busy = False
        if Control.stop:
            sys.exit(128 + signal.SIGTERM)
    return 0


if __name__ == "__main__":
    sys.exit(main())
