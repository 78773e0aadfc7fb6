"""The torch trainer's data: IDX (gzip or raw) and CIFAR-10 binary files read into uint8 NCHW
tensors, the runtime's training / validation split, batches, augmentation, normalisation.

Mirrors plugins/datasets/ (idx.ts, cifar10.ts, augment.ts, normalise.ts), so a child sees the
same examples, normalised the same way, as under the tfjs trainer. The random order and the
augmentation draws come from this trainer's own seeded generators: the same run repeats
exactly, but it is not the tfjs trainer's draw.
"""
import gzip
import hashlib
import json
import math
import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F

IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801
CIFAR10_SIDE = 32
CIFAR10_RECORD = 1 + 3 * CIFAR10_SIDE * CIFAR10_SIDE


def shown(value):
    """A value in a message, as JSON (the runtime's language), cut short."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:120] + "…"


class DataError(ValueError):
    """Bad data input: a file that cannot be read or is not what the job says. Not retryable."""


def read_file(path, field):
    """A file's bytes, gunzipped when it starts with gzip's magic (1f 8b) whatever its name."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as error:
        raise DataError(f"{field}: cannot read {path}: {error.strerror or error}") from error
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError) as error:
        raise DataError(f"{field}: {path} starts like a gzip file but does not decompress ({error})") from error


def read_idx(path, field, magic, what):
    """(dims, values) of an unsigned-byte IDX file, header and size checked."""
    data = read_file(path, field)
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{field}: {path} is too short to be an IDX {what} file ({len(data)} bytes)")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DataError(f"{field}: {path} is not an IDX {what} file: magic number 0x{found:08x}, expected 0x{magic:08x}")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + math.prod(dims)
    if len(data) != expected:
        raise DataError(f"{field}: {path} holds {len(data)} bytes but its header promises {'×'.join(map(str, dims))} values "
                        f"({expected} bytes with the header): truncated or not an IDX file")
    return dims, torch.frombuffer(bytearray(data[header:]), dtype=torch.uint8)


def read_idx_split(images_path, labels_path, field):
    """(images N×1×H×W uint8, labels N int64) from an images file and its labels file."""
    (count, rows, cols), pixels = read_idx(images_path, f"{field}Images", IDX_IMAGES_MAGIC, "images")
    (labels_count,), labels = read_idx(labels_path, f"{field}Labels", IDX_LABELS_MAGIC, "labels")
    if labels_count != count:
        raise DataError(f"data.files: {images_path} holds {count} images but {labels_path} holds {labels_count} labels")
    return pixels.reshape(count, 1, rows, cols), labels.long()


def read_cifar_batch(path, field):
    """(images N×3×32×32 uint8, labels N int64): the records' planes are already NCHW."""
    data = read_file(path, field)
    if len(data) == 0 or len(data) % CIFAR10_RECORD:
        raise DataError(f"{field}: {path}: {len(data)} bytes is not a whole number of CIFAR-10 records "
                        f"({CIFAR10_RECORD} bytes each)")
    records = torch.frombuffer(bytearray(data), dtype=torch.uint8).reshape(-1, CIFAR10_RECORD)
    return records[:, 1:].reshape(-1, 3, CIFAR10_SIDE, CIFAR10_SIDE).clone(), records[:, 0].long()


def load_files(data):
    """(train images, train labels, test images, test labels) for the job's data description."""
    fmt = data.get("format")
    files = data.get("files")
    if fmt == "idx":
        need = ("trainImages", "trainLabels", "testImages", "testLabels")
        if not isinstance(files, dict) or any(not isinstance(files.get(k), str) for k in need):
            raise DataError(f"data.files must name {', '.join(need)} for the idx format (got {shown(files)})")
        train = read_idx_split(files["trainImages"], files["trainLabels"], "data.files.train")
        test = read_idx_split(files["testImages"], files["testLabels"], "data.files.test")
        return train + test
    if fmt == "cifar10":
        if not isinstance(files, dict) or not isinstance(files.get("train"), list) or not isinstance(files.get("test"), str):
            raise DataError(f"data.files must be {{train: [paths], test: path}} for the cifar10 format (got {shown(files)})")
        parts = [read_cifar_batch(p, f"data.files.train[{i}]") for i, p in enumerate(files["train"])]
        if not parts:
            raise DataError("data.files.train names no CIFAR-10 batch file")
        test = read_cifar_batch(files["test"], "data.files.test")
        return (torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])) + test
    raise DataError(f'data.format must be "idx" or "cifar10" (got {shown(fmt)})')


_cache = {}


def load_cached(data):
    """load_files, kept for the next job of this process while the files are unchanged: a
    process trains many children on the same dataset."""
    key = repr((data.get("format"), data.get("files"), _stamps(data.get("files"))))
    if key not in _cache:
        _cache.clear()
        _cache[key] = load_files(data)
    return _cache[key]


def _stamps(files):
    paths = []
    if isinstance(files, dict):
        for v in files.values():
            paths.extend(v if isinstance(v, list) else [v])
    stamps = []
    for p in paths:
        try:
            s = os.stat(p)
            stamps.append((s.st_mtime_ns, s.st_size))
        except (OSError, TypeError):
            stamps.append(None)
    return stamps


@dataclass
class Split:
    """Examples on the training device: uint8 NCHW images, int64 labels."""
    images: torch.Tensor
    labels: torch.Tensor

    @property
    def count(self):
        return self.labels.shape[0]


@dataclass
class Normaliser:
    """(v/255 − mean)/std per channel; a constant channel (std 0) is only centred."""
    scale: torch.Tensor
    shift: torch.Tensor

    @staticmethod
    def of(mean, std, device):
        std = [s if s > 0 else 1.0 for s in std]
        scale = torch.tensor([1.0 / (255.0 * s) for s in std], device=device).reshape(1, -1, 1, 1)
        shift = torch.tensor([-m / s for m, s in zip(mean, std)], device=device).reshape(1, -1, 1, 1)
        return Normaliser(scale, shift)

    def __call__(self, images):
        return images.float() * self.scale + self.shift


def channel_stats(images):
    """Population mean and std of each channel on the [0, 1] scale (normalise.ts's channelStats),
    from a histogram of byte values: exact, and no float copy of the images."""
    values = torch.arange(256, dtype=torch.float64) / 255.0
    mean, std = [], []
    for k in range(images.shape[1]):
        counts = torch.bincount(images[:, k].reshape(-1), minlength=256).cpu().double()
        m = (counts * values).sum().item() / counts.sum().item()
        mean.append(m)
        std.append(max(0.0, (counts * values.square()).sum().item() / counts.sum().item() - m * m) ** 0.5)
    return mean, std


def generator(seed, purpose, epoch=0):
    """A CPU generator for one purpose ('shuffle', 'augment', 'recalibration') of one seed and
    epoch, so the streams are independent (turning augmentation on leaves the order alone)
    and the same on every device."""
    digest = hashlib.sha256(f"nasnet-torch/{purpose}/{seed}/{epoch}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "big") & ((1 << 63) - 1))


def augment(images, padding, flip, rng):
    """Random crop of the zero-padded image (pixel space, before normalisation, so the border is
    black as in augment.ts) and, when asked, a left-right flip: out(y, x) = src(y + dy − p,
    x' + dx − p), x' = w − 1 − x when flipped. Draws on the CPU, gathers on the images' device."""
    n, c, h, w = images.shape
    device = images.device
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=rng).to(device)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=rng).to(device)
    flips = (torch.randint(0, 2, (n,), generator=rng) if flip else torch.zeros(n, dtype=torch.long)).bool().to(device)
    padded = F.pad(images, (padding, padding, padding, padding)) if padding else images
    ys = torch.arange(h, device=device)
    xs = torch.arange(w, device=device)
    rows = dy[:, None] + ys  # n × h
    cols = dx[:, None] + torch.where(flips[:, None], w - 1 - xs, xs)  # n × w
    return padded[torch.arange(n, device=device)[:, None, None, None], torch.arange(c, device=device)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


def batches(split, batch_size, normalise, rng=None, augmentation=None, augment_rng=None, limit=None):
    """One pass over `split` in batches (the last smaller): (float NCHW images, labels). With
    `rng`, in a random order; with `augmentation` {padding, flip}, augmented by `augment_rng`."""
    count = split.count if limit is None else min(limit, split.count)
    order = torch.randperm(split.count, generator=rng)[:count] if rng is not None else None
    for start in range(0, count, batch_size):
        if order is None:
            x, y = split.images[start:start + batch_size], split.labels[start:start + batch_size]
        else:
            index = order[start:start + batch_size].to(split.labels.device)
            x, y = split.images[index], split.labels[index]
        if augmentation:
            x = augment(x, augmentation["padding"], augmentation["flip"], augment_rng)
        yield normalise(x), y
