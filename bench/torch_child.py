"""The tfjs benchmark's child network in PyTorch, built from the same network plan (JSON on
stdin), trained on random data to measure speed. Prints one JSON object.

    python3 bench/torch_child.py --threads 1 --steps 5 --batch 64 < plan.json
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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    plan = json.load(sys.stdin)
    h, w, c = plan["nodes"][plan["input"]]["shape"]
    classes = plan["nodes"][plan["logits"]]["shape"][2]
    model = PlanNetwork(plan)
    params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(args.batch, c, h, w)
    y = torch.randint(0, classes, (args.batch,))

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()

    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - start
    images = args.steps * args.batch
    print(json.dumps({"backend": "pytorch", "threads": args.threads, "torch": torch.__version__, "params": params,
                      "imagesPerSec": images / seconds, "msPerImage": 1000 * seconds / images}))


if __name__ == "__main__":
    main()
