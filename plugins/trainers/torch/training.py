"""Trains one child network and measures it, as plugins/trainers/tfjs/train-network.ts does:
SGD with momentum or Adam, a cosine (or constant) learning rate set before every step,
cross-entropy + auxWeight × the auxiliary head's + L2 on kernels, ScheduledDropPath, batch
norm recalibrated before every evaluation, the reward on the validation split."""
import math
import time

import torch
import torch.nn.functional as F

from data import Split, batches, generator
from plan_network import PlanNetwork

RECALIBRATION_BATCH = 128
# its own data order, apart from every training epoch's
RECALIBRATION_EPOCH = 1_000_000


class Diverged(Exception):
    """The loss stopped being a finite number. Not retryable: the same run diverges again."""


class Stopped(Exception):
    """Asked to stop (SIGTERM) between steps."""


def make_optimizer(model, settings):
    """SGD with momentum or Adam (tfjs's: betas 0.9/0.999, epsilon 1e-7). L2 decay of kernels
    as the optimizer's weight_decay, which adds weightDecay × w to the gradient: exactly the
    gradient of weightDecay/2 × Σ w² in the loss (both optimizers apply it before momentum),
    without summing every kernel's squares at every step."""
    decayed = model.decayed_parameters()
    ids = {id(p) for p in decayed}
    groups = [{"params": decayed, "weight_decay": settings["weightDecay"]},
              {"params": [p for p in model.parameters() if id(p) not in ids], "weight_decay": 0.0}]
    if settings["optimizer"] == "sgd":
        return torch.optim.SGD(groups, lr=settings["learningRate"], momentum=settings["momentum"])
    return torch.optim.Adam(groups, lr=settings["learningRate"], betas=(0.9, 0.999), eps=1e-7)


def set_learning_rate(optimizer, settings, progress):
    """Cosine decay to 0 over the run, evaluated per step; `constant` keeps the rate."""
    if settings["learningRateSchedule"] == "constant":
        return
    rate = settings["learningRate"] * 0.5 * (1 + math.cos(math.pi * progress))
    for group in optimizer.param_groups:
        group["lr"] = rate


def train_step(model, optimizer, x, y, aux_weight):
    """One step; returns (cross-entropy, total loss, hits) as device tensors (no read)."""
    logits, aux = model(x, aux=aux_weight > 0)
    cross_entropy = F.cross_entropy(logits, y)
    total = cross_entropy if aux is None else cross_entropy + aux_weight * F.cross_entropy(aux, y)
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    return cross_entropy.detach(), total.detach(), (logits.detach().argmax(1) == y).sum()


class DivergenceCheck:
    """Finds the first step whose loss is not finite. A read synchronises a GPU, so on one the
    losses are read every `every` steps rather than each step; a diverged run then fails a few
    steps later than it could, with the step that diverged first."""

    def __init__(self, every):
        self.every = every
        self.pending = []

    def add(self, epoch, step, total):
        self.pending.append((epoch, step, total))
        if len(self.pending) >= self.every:
            self.flush()

    def flush(self):
        if not self.pending:
            return
        finite = torch.isfinite(torch.stack([t for _, _, t in self.pending])).tolist()
        pending, self.pending = self.pending, []
        for (epoch, step, _), ok in zip(pending, finite):
            if not ok:
                raise Diverged(f"the training loss became nan at epoch {epoch + 1}, step {step + 1}: "
                               "the network diverged (try a smaller learning rate)")


def accuracy(model, split, normalise, batch_size):
    """Accuracy on a split in inference mode, counted on the device and read once."""
    model.eval()
    correct = torch.zeros((), dtype=torch.long, device=split.labels.device)
    with torch.no_grad():
        for x, y in batches(split, batch_size, normalise):
            correct += (model(x, aux=False)[0].argmax(1) == y).sum()
    model.train()
    return correct.item() / split.count


def recalibrate_batch_norm(model, train, normalise, seed, epoch, limit):
    """Replaces each batch norm's moving mean and variance (of the main head's path) by the
    exact mean and biased variance of its input over `limit` training images (or all), run
    in training mode without gradients or drop-path (batch-norm-recalibration.ts). Returns
    how many images were used."""
    sums = {}

    def record(bn, inputs):
        x = inputs[0].double()
        n = x.shape[0]
        # n·mean and n·E[x²] add up across batches to the statistics of all the images
        s = sums.setdefault(bn, [0.0, 0.0])
        s[0] = s[0] + n * x.mean((0, 2, 3))
        s[1] = s[1] + n * x.square().mean((0, 2, 3))

    norms = model.batch_norms()
    hooks = [bn.register_forward_pre_hook(record) for bn in norms]
    model.train()
    model.set_drop_path(0, 0)
    count = 0
    try:
        with torch.no_grad():
            rng = generator(seed, "recalibration", RECALIBRATION_EPOCH + epoch)
            for x, _ in batches(train, RECALIBRATION_BATCH, normalise, rng=rng, limit=limit):
                model(x, aux=False)
                count += x.shape[0]
    finally:
        for h in hooks:
            h.remove()
    with torch.no_grad():
        for bn, (total, squares) in sums.items():
            mean = total / count
            bn.running_mean.copy_(mean)
            bn.running_var.copy_((squares / count - mean.pow(2)).clamp_min(0))
    return count


class Trainer:
    """One job's training: the model, its optimizer and the loop."""

    def __init__(self, plan, settings, device, data):
        self.settings = settings
        self.device = device
        self.data = data  # train, validation, test (or None), normalise, augmentation
        self.aux_weight = settings["auxWeight"] if plan.get("auxLogits") is not None else 0.0
        self.model = PlanNetwork(plan, aux=self.aux_weight > 0,
                                 batch_norm_momentum=settings["batchNormMomentum"]).to(device)
        self.optimizer = make_optimizer(self.model, settings)
        self.recalibration_images = 0

    def evaluate(self, split, epoch):
        """Accuracy on a split, batch norm recalibrated first unless the setting is 0."""
        s, d = self.settings, self.data
        if s["batchNormRecalibration"] > 0:
            self.recalibration_images = recalibrate_batch_norm(self.model, d["train"], d["normalise"], s["seed"],
                                                               epoch, s["batchNormRecalibration"])
        return accuracy(self.model, split, d["normalise"], s["batchSize"])

    def run(self, progress, should_stop):
        """Trains for settings.epochs, reporting each epoch; returns the measurements."""
        s, d = self.settings, self.data
        train = d["train"]
        steps_per_epoch = -(-train.count // s["batchSize"])
        total_steps = steps_per_epoch * s["epochs"]
        check = DivergenceCheck(1 if self.device.type == "cpu" else 25)
        step, images, training_seconds, last_loss = 0, 0, 0.0, None
        self.model.train()
        for epoch in range(s["epochs"]):
            started = time.perf_counter()
            loss_sum = torch.zeros((), device=self.device)
            hits = torch.zeros((), dtype=torch.long, device=self.device)
            seen = 0
            for x, y in batches(train, s["batchSize"], d["normalise"], rng=generator(s["seed"], "shuffle", epoch),
                                augmentation=d["augmentation"], augment_rng=generator(s["seed"], "augment", epoch)):
                if should_stop():
                    raise Stopped()
                self.step_schedule(step / total_steps)
                cross_entropy, total, batch_hits = train_step(self.model, self.optimizer, x, y, self.aux_weight)
                check.add(epoch, step, total)
                loss_sum += cross_entropy * y.shape[0]
                hits += batch_hits
                seen += y.shape[0]
                step += 1
                last_loss = cross_entropy
            check.flush()
            metrics = {"loss": loss_sum.item() / seen, "trainAccuracy": hits.item() / seen}
            training_seconds += time.perf_counter() - started  # the reads above waited for the device
            images += seen
            if epoch < s["epochs"] - 1:
                metrics["validationAccuracy"] = self.evaluate(d["validation"], epoch)
            progress({"epoch": epoch + 1, "epochs": s["epochs"], "metrics": metrics})
        validation = self.evaluate(d["validation"], s["epochs"])
        test = accuracy(self.model, d["test"], d["normalise"], s["batchSize"]) if d["test"] is not None else None
        return {"validationAccuracy": validation, "testAccuracy": test, "loss": last_loss.item(),
                "imagesPerSec": images / training_seconds if training_seconds > 0 else 0.0}

    def step_schedule(self, progress):
        set_learning_rate(self.optimizer, self.settings, progress)
        self.model.set_drop_path(self.settings["dropPath"], progress)


def device_split(images, labels, indices, device):
    index = torch.tensor(indices, dtype=torch.long)
    return Split(images[index].to(device), labels[index].to(device))


def steps_case(case):
    """For the tests: `steps` training steps on one batch from tfjs's weights (no drop-path);
    the weights after them, in tfjs's layout."""
    from plan_network import load_tfjs_weights, tensor_from, tfjs_weights
    settings = case["settings"]
    aux = settings["auxWeight"] if case["plan"].get("auxLogits") is not None else 0.0
    model = PlanNetwork(case["plan"], aux=aux > 0, batch_norm_momentum=settings["batchNormMomentum"])
    load_tfjs_weights(model, case["weights"])
    optimizer = make_optimizer(model, settings)
    x = tensor_from(case["input"]).permute(0, 3, 1, 2).contiguous()
    y = torch.tensor(case["labels"], dtype=torch.long)
    model.train()
    for step in range(case["steps"]):
        set_learning_rate(optimizer, settings, step / case["steps"])
        train_step(model, optimizer, x, y, aux)
    return tfjs_weights(model)


if __name__ == "__main__":
    import json
    import sys
    if sys.argv[1:] != ["--steps"]:
        sys.exit("usage: training.py --steps < cases.json")
    print(json.dumps([steps_case(case) for case in json.load(sys.stdin)]))
