"""A nasnet network plan (plugins/trainers/network/plan.ts) as a PyTorch module: the child
network of the torch trainer and of the PyTorch benchmark twin (bench/torch_child.py).

Each plan node becomes one small module and the forward pass runs the nodes in id order (the
plan lists every node after its inputs). Tensors are NCHW; the plan's shapes are [h, w, c].
The numerics follow the tfjs trainer (plugins/trainers/tfjs/network-model.ts): TensorFlow's
'same' padding, average pooling that leaves padding out of the count, batch norm with
epsilon 1e-3, the same weight initialisers, ScheduledDropPath per example.

Helper modes, for the tests (test/integration/torch-trainer.test.ts):

    python3 plan_network.py --check < plans.json     # [plan, ...] -> [{params, shapes}, ...]
    python3 plan_network.py --forward < cases.json   # plans with tfjs's weights -> logits
"""
import base64
import functools
import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPSILON = 1e-3


def same_pads(size, kernel, stride, dilation=1):
    """TensorFlow's 'same' padding of one dimension, (before, after): the output has
    ceil(size / stride) positions and the extra padding, if odd, goes after. A strided window
    over an even size therefore pads asymmetrically, which PyTorch's own padding cannot."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def window_pads(node, in_shape, kernel, dilation=1):
    """(top, bottom, left, right) for a windowed node; zeros for 'valid'."""
    if node["padding"] != "same":
        return (0, 0, 0, 0)
    kh, kw = kernel
    return same_pads(in_shape[0], kh, node["stride"], dilation) + same_pads(in_shape[1], kw, node["stride"], dilation)


class Padded(nn.Module):
    """Base of the windowed nodes: PyTorch's own padding where TF's is symmetric (no copy),
    else an explicitly padded input (F.pad takes left, right, top, bottom)."""

    def __init__(self, pads, value=0.0):
        super().__init__()
        top, bottom, left, right = pads
        self.symmetric = top == bottom and left == right
        self.padding = (top, left) if self.symmetric else (0, 0)
        self.explicit = None if self.symmetric else (left, right, top, bottom)
        self.value = value

    def pad(self, x):
        return x if self.explicit is None else F.pad(x, self.explicit, value=self.value)


class Conv(Padded):
    def __init__(self, node, in_shape):
        kh, kw = node["kernel"]
        super().__init__(window_pads(node, in_shape, (kh, kw), node["dilation"]))
        cin = in_shape[2]
        self.conv = nn.Conv2d(cin, node["filters"], (kh, kw), stride=node["stride"], padding=self.padding,
                              dilation=node["dilation"], bias=node["bias"])
        # He normal over the fan-in, as the reference code and the tfjs trainer
        nn.init.normal_(self.conv.weight, 0.0, math.sqrt(2.0 / (kh * kw * cin)))
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)

    def forward(self, x):
        return self.conv(self.pad(x))


class Depthwise(Padded):
    def __init__(self, node, in_shape):
        k = node["kernel"]
        super().__init__(window_pads(node, in_shape, (k, k), node["dilation"]))
        c = in_shape[2]
        self.conv = nn.Conv2d(c, c, k, stride=node["stride"], padding=self.padding, dilation=node["dilation"],
                              groups=c, bias=False)
        nn.init.normal_(self.conv.weight, 0.0, math.sqrt(2.0 / (k * k)))

    def forward(self, x):
        return self.conv(self.pad(x))


class Pool(Padded):
    def __init__(self, node, in_shape):
        k = node["size"]
        pads = window_pads(node, in_shape, (k, k))
        # max: padding never wins; avg: padding is left out of the count (tfjs's 'same' avgPool)
        super().__init__(pads, value=-math.inf if node["type"] == "max" else 0.0)
        self.kind, self.size, self.stride = node["type"], k, node["stride"]
        if self.kind == "avg" and not self.symmetric:
            self.register_buffer("count_scale", self.scale_for_count(in_shape, pads), persistent=False)

    def scale_for_count(self, in_shape, pads):
        # k² / (real pixels in each window): turns a mean over the padded window into TF's mean
        ones = F.pad(torch.ones(1, 1, in_shape[0], in_shape[1]), self.explicit)
        return 1.0 / F.avg_pool2d(ones, self.size, self.stride)

    def forward(self, x):
        if self.kind == "max":
            return F.max_pool2d(self.pad(x), self.size, self.stride, self.padding)
        if self.symmetric:
            return F.avg_pool2d(x, self.size, self.stride, self.padding, count_include_pad=False)
        return F.avg_pool2d(self.pad(x), self.size, self.stride) * self.count_scale


class BatchNorm(nn.BatchNorm2d):
    """tfjs's batch norm: epsilon 1e-3; tfjs's moving = moving·m + batch·(1 − m) is PyTorch's
    momentum 1 − m. (PyTorch folds the unbiased batch variance into the moving variance, tfjs
    the biased one: a factor n/(n − 1) with n = batch × h × w, at least 49 × batch in the main
    network; recalibration replaces both by exact biased statistics anyway.)"""

    def __init__(self, channels, momentum):
        super().__init__(channels, eps=BN_EPSILON, momentum=1.0 - momentum)


class DropPath(nn.Module):
    """ScheduledDropPath: drops a cell operation's output for whole examples, scaling what it
    keeps by 1/keep. `probability` is set by the network before each training step."""

    def __init__(self, cell):
        super().__init__()
        self.cell = cell
        self.probability = 0.0

    def forward(self, x):
        if not self.training or self.probability <= 0:
            return x
        keep = 1.0 - self.probability
        mask = torch.floor(torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) + keep)
        return x * (mask / keep)


class Dense(nn.Linear):
    def __init__(self, node, in_shape):
        h, w, c = in_shape
        super().__init__(h * w * c, node["units"])
        # Glorot uniform, zero bias (tfjs)
        limit = math.sqrt(6.0 / (h * w * c + node["units"]))
        nn.init.uniform_(self.weight, -limit, limit)
        nn.init.zeros_(self.bias)

    def forward(self, x):
        # flattened in NHWC order, as tfjs flattens, so a kernel means the same in both
        flat = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        return super().forward(flat).reshape(x.shape[0], -1, 1, 1)


class Lambda(nn.Module):
    """A parameter-free node."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def subsample(stride):
    return Lambda(lambda x: x[:, :, ::stride, ::stride])


def shift(x):
    # up-left by one pixel, zeros entering at the bottom and right (the factorized reduction's second path)
    return F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]


def node_module(node, shapes, batch_norm_momentum):
    """The module that computes one plan node from its inputs' tensors."""
    kind = node["kind"]
    in_shape = shapes[node["input"]] if "input" in node else None
    if kind == "conv":
        return Conv(node, in_shape)
    if kind == "depthwise":
        return Depthwise(node, in_shape)
    if kind == "pool":
        return Pool(node, in_shape)
    if kind == "batchnorm":
        return BatchNorm(node["shape"][2], batch_norm_momentum)
    if kind == "dense":
        return Dense(node, in_shape)
    if kind == "droppath":
        return DropPath(node["cell"])
    if kind == "subsample":
        return subsample(node["stride"])
    simple = {
        "relu": F.relu,
        "shift": shift,
        "add": lambda *xs: functools.reduce(torch.add, xs),
        "concat": lambda *xs: torch.cat(xs, 1),
        "globalAvgPool": lambda x: x.mean((2, 3), keepdim=True),
    }
    if kind not in simple:
        raise ValueError(f"plan node {node['id']} has unknown kind {kind!r}")
    return Lambda(simple[kind])


def node_inputs(node):
    if "input" in node:
        return [node["input"]]
    return list(node.get("inputs", []))


def reachable(plan, heads):
    """Ids of the nodes the given heads depend on, in plan (topological) order."""
    needed = set()
    stack = list(heads)
    while stack:
        i = stack.pop()
        if i not in needed:
            needed.add(i)
            stack.extend(node_inputs(plan["nodes"][i]))
    return sorted(needed)


class PlanNetwork(nn.Module):
    """The plan's network. forward(x) -> (logits, aux_logits or None), logits as (n, classes).
    Only nodes the main head needs are built, plus the auxiliary head's when `aux` is asked
    for and the plan has one, so parameters() is exactly what a training step updates."""

    def __init__(self, plan, aux=False, batch_norm_momentum=0.9):
        super().__init__()
        self.plan = plan
        self.logits = plan["logits"]
        self.aux_logits = plan.get("auxLogits") if aux else None
        self.main_order = reachable(plan, [self.logits])
        heads = [self.logits] + ([self.aux_logits] if self.aux_logits is not None else [])
        self.full_order = reachable(plan, heads)
        self.inputs = {i: node_inputs(plan["nodes"][i]) for i in self.full_order}
        shapes = {node["id"]: node["shape"] for node in plan["nodes"]}
        self.ops = nn.ModuleDict({
            str(i): node_module(plan["nodes"][i], shapes, batch_norm_momentum)
            for i in self.full_order if plan["nodes"][i]["kind"] != "input"
        })
        self.drop_paths = [m for m in self.ops.values() if isinstance(m, DropPath)]
        self.cells = plan.get("cells", 1)
        self.main_program, self.full_program = self.program(self.main_order), self.program(self.full_order)

    def program(self, order):
        """(id, module, input ids, ids no later node reads) per node, worked out once (forward
        runs every step); dropping values after their last use keeps only live activations
        in memory when no gradient holds on to them (evaluation, recalibration)."""
        steps = [(i, self.ops[str(i)], self.inputs[i]) for i in order if i != self.plan["input"]]
        last_use = {j: k for k, (_, _, inputs) in enumerate(steps) for j in inputs}
        return [(i, op, inputs, [j for j in set(inputs) if last_use[j] == k]) for k, (i, op, inputs) in enumerate(steps)]

    def forward(self, x, aux=True):
        """Logits of both heads (aux: when built and asked for)."""
        with_aux = aux and self.aux_logits is not None
        values = {self.plan["input"]: x}
        for i, op, inputs, done in self.full_program if with_aux else self.main_program:
            values[i] = op(*[values[j] for j in inputs])
            for j in done:
                del values[j]
        flat = lambda i: values[i].reshape(x.shape[0], -1)
        return flat(self.logits), (flat(self.aux_logits) if with_aux else None)

    def set_drop_path(self, rate, progress):
        """ScheduledDropPath: deeper cells and later steps drop more (0 turns it off)."""
        for m in self.drop_paths:
            m.probability = rate * (m.cell + 1) / self.cells * progress

    def main_parameter_count(self):
        """Trainable parameters of the nodes the main head needs: planTotals(plan).trainableParams."""
        return sum(p.numel() for i in self.main_order if str(i) in self.ops for p in self.ops[str(i)].parameters())

    def batch_norms(self, main_only=True):
        order = self.main_order if main_only else self.full_order
        return [self.ops[str(i)] for i in order if str(i) in self.ops and isinstance(self.ops[str(i)], BatchNorm)]

    def decayed_parameters(self):
        """Convolution, depthwise and dense kernels: what L2 weight decay applies to."""
        kernels = []
        for m in self.ops.values():
            if isinstance(m, (Conv, Depthwise)):
                kernels.append(m.conv.weight)
            elif isinstance(m, Dense):
                kernels.append(m.weight)
        return kernels


def plan_totals(plan, aux=False):
    """planTotals of plan.ts: (params with batch norm's moving statistics, trainable params, multAdds)."""
    heads = [plan["logits"]] + ([plan["auxLogits"]] if aux and plan.get("auxLogits") is not None else [])
    params = trainable = mult_adds = 0
    for i in reachable(plan, heads):
        node = plan["nodes"][i]
        params += node["params"]
        trainable += node["params"] // 2 if node["kind"] == "batchnorm" else node["params"]
        mult_adds += node["multAdds"]
    return params, trainable, mult_adds


# ---- helper modes for the tests ----

def check(plan, batch=2):
    """Parameter counts and output shapes of the torch model of `plan`, next to the plan's."""
    model = PlanNetwork(plan, aux=True)
    h, w, c = plan["nodes"][plan["input"]]["shape"]
    with torch.no_grad():
        logits, aux = model.eval()(torch.zeros(batch, c, h, w))
    trainable = sum(p.numel() for p in model.parameters())
    statistics = sum(m.running_mean.numel() + m.running_var.numel() for m in model.batch_norms(main_only=False))
    return {
        "mainTrainableParams": model.main_parameter_count(),
        "trainableParams": trainable,
        "params": trainable + statistics,
        "logits": list(logits.shape),
        "auxLogits": list(aux.shape) if aux is not None else None,
    }


def tensor_from(spec):
    """{shape, data: base64 little-endian float32} -> tensor."""
    raw = base64.b64decode(spec["data"])
    return torch.frombuffer(bytearray(raw), dtype=torch.float32).reshape(spec["shape"])


def tensor_to(t):
    return base64.b64encode(t.detach().contiguous().float().numpy().tobytes()).decode()


def load_tfjs_weights(model, weights):
    """tfjs variables (NHWC kernels: HWIO, depthwise HWC1, dense [in, out]) into the torch model."""
    with torch.no_grad():
        for key, w in weights.items():
            m = model.ops[key] if key in model.ops else None  # a node the model does not compute
            if isinstance(m, (Conv, Depthwise)):
                m.conv.weight.copy_(tensor_from(w["kernel"]).permute(3, 2, 0, 1) if isinstance(m, Conv)
                                    else tensor_from(w["kernel"]).permute(2, 3, 0, 1))
                if "bias" in w:
                    m.conv.bias.copy_(tensor_from(w["bias"]))
            elif isinstance(m, Dense):
                m.weight.copy_(tensor_from(w["kernel"]).t())
                m.bias.copy_(tensor_from(w["bias"]))
            elif isinstance(m, BatchNorm):
                for name, target in (("gamma", m.weight), ("beta", m.bias), ("movingMean", m.running_mean),
                                     ("movingVariance", m.running_var)):
                    target.copy_(tensor_from(w[name]))


def tfjs_weights(model):
    """The torch model's trainable weights in tfjs's layout and names (load_tfjs_weights' inverse)."""
    out = {}
    for key, m in model.ops.items():
        if isinstance(m, (Conv, Depthwise)):
            kernel = m.conv.weight.permute(2, 3, 1, 0) if isinstance(m, Conv) else m.conv.weight.permute(2, 3, 0, 1)
            out[key] = {"kernel": kernel, **({"bias": m.conv.bias} if m.conv.bias is not None else {})}
        elif isinstance(m, Dense):
            out[key] = {"kernel": m.weight.t(), "bias": m.bias}
        elif isinstance(m, BatchNorm):
            out[key] = {"gamma": m.weight, "beta": m.bias}
    return {key: {name: tensor_to(t) for name, t in w.items()} for key, w in out.items()}


def forward_case(case):
    """Logits of a plan with given (tfjs) weights on a given NHWC input, in training mode
    (batch statistics, no drop-path) and in inference mode (moving statistics)."""
    model = PlanNetwork(case["plan"], aux=True)
    load_tfjs_weights(model, case["weights"])
    x = tensor_from(case["input"]).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        # inference first: a training-mode pass moves the moving statistics
        inference, _ = model.eval()(x, aux=False)
        logits, aux = model.train()(x)
    return {"logits": tensor_to(logits), "auxLogits": tensor_to(aux) if aux is not None else None,
            "inference": tensor_to(inference)}


def main(argv):
    torch.manual_seed(0)
    if argv[1:] == ["--check"]:
        print(json.dumps([check(plan) for plan in json.load(sys.stdin)]))
    elif argv[1:] == ["--forward"]:
        print(json.dumps([forward_case(case) for case in json.load(sys.stdin)]))
    else:
        sys.exit("usage: plan_network.py --check < plans.json | --forward < cases.json")


if __name__ == "__main__":
    main(sys.argv)
