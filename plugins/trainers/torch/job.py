"""Checks a protocol-v1 job's settings and data description before any work starts, so bad
input fails at once, non-retryably, naming the field and the value it got."""
import math

from data import shown

# plugins/trainers/training-settings.ts's defaults, for a setting a job leaves out
DEFAULT_SETTINGS = {
    "epochs": 1, "batchSize": 64, "optimizer": "sgd", "learningRate": 0.05, "learningRateSchedule": "cosine",
    "momentum": 0.9, "weightDecay": 5e-4, "batchNormMomentum": 0.9, "validationFraction": 0.1,
    "maxTrainExamples": 0, "augment": True, "dropPath": 0, "auxHead": False, "auxWeight": 0.4,
    "evaluateTest": False, "batchNormRecalibration": 512, "seed": 1, "dataSeed": None,
}


class JobError(ValueError):
    """Bad job input. Not retryable: another attempt gets the same job."""


def is_integer(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def need(ok, field, rule, value):
    if not ok:
        raise JobError(f"{field} must be {rule} (got {shown(value)})")


def integer_in(field, value, low, high=None):
    rule = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
    need(is_integer(value) and value >= low and (high is None or value <= high), field, rule, value)


def number_in(field, value, low, high=None, low_open=False, high_open=False):
    ok = is_number(value) and (value > low if low_open else value >= low) and (
        high is None or (value < high if high_open else value <= high))
    rule = f"a number {'>' if low_open else '>='} {low}" + (f" and {'<' if high_open else '<='} {high}" if high is not None else "")
    need(ok, field, rule, value)


def one_of(field, value, choices):
    need(value in choices, field, " or ".join(f'"{c}"' for c in choices), value)


def check_settings(job):
    """The job's resolved training settings (defaults for any left out), checked as
    training-settings.ts's schema checks them."""
    given = job.get("settings") or {}
    need(isinstance(given, dict), "settings", "an object", given)
    s = dict(DEFAULT_SETTINGS)
    # layered as run-job.ts layers them: the job's epochs and seed, then its settings
    for layer in ({"epochs": job.get("epochs"), "seed": job.get("seed")}, given):
        s.update({k: v for k, v in layer.items() if v is not None})
    integer_in("settings.epochs", s["epochs"], 1, 10_000)
    integer_in("settings.batchSize", s["batchSize"], 1, 4096)
    one_of("settings.optimizer", s["optimizer"], ("sgd", "adam"))
    number_in("settings.learningRate", s["learningRate"], 0, 10, low_open=True)
    one_of("settings.learningRateSchedule", s["learningRateSchedule"], ("cosine", "constant"))
    number_in("settings.momentum", s["momentum"], 0, 1, high_open=True)
    number_in("settings.weightDecay", s["weightDecay"], 0, 1)
    number_in("settings.batchNormMomentum", s["batchNormMomentum"], 0, 1, high_open=True)
    number_in("settings.dropPath", s["dropPath"], 0, 1, high_open=True)
    number_in("settings.auxWeight", s["auxWeight"], 0)
    integer_in("settings.batchNormRecalibration", s["batchNormRecalibration"], 0, 1_000_000)
    need(is_integer(s["seed"]), "settings.seed", "an integer", s["seed"])
    for flag in ("augment", "evaluateTest"):
        need(isinstance(s[flag], bool), f"settings.{flag}", "true or false", s[flag])
    return s


def check_plan(job):
    plan = job.get("plan")
    need(isinstance(plan, dict) and isinstance(plan.get("nodes"), list) and plan["nodes"], "plan",
         "a network plan {nodes, input, logits, auxLogits, cells}", sorted(plan) if isinstance(plan, dict) else plan)
    for k, node in enumerate(plan["nodes"]):
        ok = isinstance(node, dict) and node.get("id") == k and isinstance(node.get("kind"), str)
        ok = ok and isinstance(node.get("shape"), list) and len(node["shape"]) == 3 and all(is_integer(v) for v in node["shape"])
        need(ok and is_integer(node.get("params")) and is_integer(node.get("multAdds")), f"plan.nodes[{k}]",
             "a plan node {id (its index), kind, shape [h, w, c], params, multAdds, …}", node)
    for key in ("input", "logits"):
        need(is_integer(plan.get(key)) and 0 <= plan[key] < len(plan["nodes"]), f"plan.{key}", "a node id", plan.get(key))
    aux = plan.get("auxLogits")
    need(aux is None or (is_integer(aux) and 0 <= aux < len(plan["nodes"])), "plan.auxLogits", "a node id or null", aux)
    return plan


def check_indices(field, indices, count):
    need(isinstance(indices, list) and len(indices) > 0 and all(is_integer(i) for i in indices), field,
         "a non-empty list of example indices", indices if not isinstance(indices, list) else f"a list of {len(indices)}")
    bad = next((i for i in indices if not 0 <= i < count), None)
    need(bad is None, field, f"indices into the {count} training examples", bad)


def check_data(data, plan, files, settings):
    """The data description against the files as read (train images, labels, test images,
    labels) and the plan's input and classes; returns the augmentation."""
    h, w, c = plan["nodes"][plan["input"]]["shape"]
    classes = plan["nodes"][plan["logits"]]["shape"][2]
    need(list(data.get("imageShape", [h, w, c])) == [h, w, c], "data.imageShape", f"the plan's input shape {[h, w, c]}",
         data.get("imageShape"))
    need(data.get("classes", classes) == classes, "data.classes", f"the plan's {classes} classes", data.get("classes"))
    for split, images, labels in (("training", files[0], files[1]), ("test", files[2], files[3])):
        if list(images.shape[1:]) != [c, h, w]:
            raise JobError(f"data.files: the {split} images are {images.shape[2]}×{images.shape[3]}×{images.shape[1]}, "
                           f"the plan's input {h}×{w}×{c}")
        top = int(labels.max()) if labels.numel() else 0
        if top >= classes:
            raise JobError(f"data.files: a {split} label is {top}, but the plan has {classes} classes (labels 0-{classes - 1})")
    check_indices("data.trainIndices", data.get("trainIndices"), files[1].shape[0])
    check_indices("data.validationIndices", data.get("validationIndices"), files[1].shape[0])
    for key in ("mean", "std"):
        v = data.get(key)
        need(v is None or (isinstance(v, list) and len(v) == c and all(is_number(x) for x in v)), f"data.{key}",
             f"a list of {c} number{'s' if c != 1 else ''} (one per channel)", v)
    return check_augment(data.get("augment", False), settings, (h, w))


def check_augment(augment, settings, size):
    """{padding, flip} or False; off when settings.augment is off."""
    if augment is False or augment is None or not settings["augment"]:
        return None
    need(isinstance(augment, dict), "data.augment", "false or {padding, flip}", augment)
    padding, flip = augment.get("padding", 0), augment.get("flip", False)
    integer_in("data.augment.padding", padding, 0, min(size) - 1)
    need(isinstance(flip, bool), "data.augment.flip", "true or false", flip)
    return {"padding": padding, "flip": flip} if padding > 0 or flip else None
