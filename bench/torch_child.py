"""The tfjs benchmark's child network in PyTorch, built from the same network plan (JSON on
stdin), trained on random data to measure speed. Prints one JSON object.

    python3 bench/torch_child.py --threads 1 --steps 5 --batch 64 < plan.json
    python3 bench/torch_child.py --device cuda --steps 20 --batch 256 < plan.json

--device cuda trains eagerly on the GPU (model and data moved there); CUDA runs asynchronously,
so the clock is read only after torch.cuda.synchronize(). --cudnn-benchmark lets cuDNN try its
convolution algorithms on the first steps (the warm-up) and keep the fastest.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def same_padding(kernel, dilation):
    # For odd kernels, symmetric padding of (k-1)·d/2 gives TensorFlow's 'same' output size
    # at stride 1 and 2 alike (ceil(size / stride)).
    return ((kernel - 1) * dilation) // 2


class PlanNetwork(nn.Module):
    def __init__(self, plan):
        super().__init__()
        self.nodes = plan["nodes"]
        self.logits = plan["logits"]
        self.layers = nn.ModuleDict()
        shapes = {node["id"]: node["shape"] for node in self.nodes}
        needed = set()
        stack = [self.logits]
        while stack:
            i = stack.pop()
            if i in needed:
                continue
            needed.add(i)
            node = self.nodes[i]
            if "input" in node:
                stack.append(node["input"])
            for j in node.get("inputs", []):
                stack.append(j)
        self.needed = needed
        for node in self.nodes:
            i = node["id"]
            kind = node["kind"]
            channels_in = shapes[node["input"]][2] if "input" in node else None
            if kind == "conv":
                kh, kw = node["kernel"]
                d = node["dilation"]
                pad = (same_padding(kh, d), same_padding(kw, d)) if node["padding"] == "same" else (0, 0)
                self.layers[str(i)] = nn.Conv2d(channels_in, node["filters"], (kh, kw), stride=node["stride"],
                                                padding=pad, dilation=d, bias=node["bias"])
            elif kind == "depthwise":
                k = node["kernel"]
                d = node["dilation"]
                pad = same_padding(k, d) if node["padding"] == "same" else 0
                self.layers[str(i)] = nn.Conv2d(channels_in, channels_in, k, stride=node["stride"], padding=pad,
                                                dilation=d, groups=channels_in, bias=False)
            elif kind == "batchnorm":
                self.layers[str(i)] = nn.BatchNorm2d(node["shape"][2], eps=1e-3, momentum=0.0003)
            elif kind == "dense":
                h, w, c = shapes[node["input"]]
                self.layers[str(i)] = nn.Linear(h * w * c, node["units"])

    def forward(self, x):
        values = {}
        for node in self.nodes:
            i = node["id"]
            if i not in self.needed:
                continue
            kind = node["kind"]
            get = lambda j: values[j]
            if kind == "input":
                out = x
            elif kind == "relu":
                out = F.relu(get(node["input"]))
            elif kind in ("conv", "depthwise", "batchnorm"):
                out = self.layers[str(i)](get(node["input"]))
            elif kind == "pool":
                k, s = node["size"], node["stride"]
                pad = k // 2 if node["padding"] == "same" else 0
                if node["type"] == "avg":
                    out = F.avg_pool2d(get(node["input"]), k, s, pad, count_include_pad=False)
                else:
                    out = F.max_pool2d(get(node["input"]), k, s, pad)
            elif kind == "subsample":
                s = node["stride"]
                out = get(node["input"])[:, :, ::s, ::s]
            elif kind == "shift":
                t = get(node["input"])
                out = F.pad(t, (0, 1, 0, 1))[:, :, 1:, 1:]
            elif kind == "add":
                out = sum(get(j) for j in node["inputs"])
            elif kind == "concat":
                out = torch.cat([get(j) for j in node["inputs"]], 1)
            elif kind == "droppath":
                out = get(node["input"])
            elif kind == "globalAvgPool":
                out = get(node["input"]).mean((2, 3), keepdim=True)
            elif kind == "dense":
                t = get(node["input"])
                out = self.layers[str(i)](t.reshape(t.shape[0], -1))
            else:
                raise ValueError("unknown node kind " + kind)
            values[i] = out
        return values[self.logits].reshape(x.shape[0], -1)


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
    model = PlanNetwork(plan).to(device)
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
        loss = F.cross_entropy(model(x), y)
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
