"""The tfjs benchmark's child network in PyTorch, built from the same network plan (JSON on
stdin) by the torch trainer's PlanNetwork (plugins/trainers/torch/plan_network.py; a copy of
this script elsewhere needs plan_network.py beside it), trained on random data to measure
speed. Prints one JSON object.

    python3 bench/torch_child.py --threads 1 --steps 5 --batch 64 < plan.json
    python3 bench/torch_child.py --device cuda --steps 20 --batch 256 < plan.json

--device cuda trains eagerly on the GPU (model and data moved there); CUDA runs asynchronously,
so the clock is read only after torch.cuda.synchronize(). --cudnn-benchmark lets cuDNN try its
convolution algorithms on the first steps (the warm-up) and keep the fastest.
"""
import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the repository
# PlanNetwork's one home is the torch trainer's (the directory itself, not plugins/trainers,
# goes on the path: plugins/trainers/torch must not shadow the torch package)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugins", "trainers", "torch"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from plan_network import PlanNetwork  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--cudnn-benchmark", action="store_true")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: torch " + torch.__version__ + " sees no CUDA device")
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    torch.manual_seed(0)
    device = torch.device(args.device)
    plan = json.load(sys.stdin)
    h, w, c = plan["nodes"][plan["input"]]["shape"]
    classes = plan["nodes"][plan["logits"]]["shape"][2]
    # the benchmark's network: no auxiliary head, no drop-path, the reference's batch-norm decay
    model = PlanNetwork(plan, batch_norm_momentum=0.9997).to(device)
    params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    # drawn on the CPU, so the data is the same whichever device trains on it
    x = torch.randn(args.batch, c, h, w).to(device)
    y = torch.randint(0, classes, (args.batch,)).to(device)

    def synchronize():
        if args.device == "cuda":
            torch.cuda.synchronize()

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x)[0], y)
        loss.backward()
        optimizer.step()

    for _ in range(args.warmup):
        step()
    synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    synchronize()
    seconds = time.perf_counter() - start
    images = args.steps * args.batch
    name = torch.cuda.get_device_name(device) if args.device == "cuda" else "CPU"
    print(json.dumps({"backend": "pytorch", "threads": args.threads, "torch": torch.__version__, "params": params,
                      "device": args.device, "deviceName": name, "cudnnBenchmark": args.cudnn_benchmark,
                      "batch": args.batch, "steps": args.steps,
                      "imagesPerSec": images / seconds, "msPerImage": 1000 * seconds / images}))


if __name__ == "__main__":
    main()
