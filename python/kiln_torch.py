"""kiln's networks in PyTorch: the same names and layouts as kiln's safetensors exports.

    import safetensors.torch, kiln_torch
    model = kiln_torch.Mlp()                      # 784 -> 512 -> 256 -> 10, ReLU
    model.load_state_dict(safetensors.torch.load_file("mlp.safetensors"), strict=True)

`Mlp` is kiln-mlp's classifier (also kiln-rl's Q-network: `Mlp(4, [120, 84], 2, dropout=0)`),
`Generator` and `Discriminator` are kiln-dcgan's. Each constructor takes the fields of the
kiln config it mirrors (`MlpConfig`, `GeneratorConfig`, `DiscriminatorConfig`), so a run
folder's `config.json` can be passed as keyword arguments. A `state_dict` saved from these
modules (`torch.save(model.state_dict(), "m.pt")`, or `safetensors.torch.save_file`) loads
into kiln with `load_pytorch`.

Run as a program, it is the PyTorch side of kiln's interop tests (tests/kiln/pytorch.rs):
`outputs` runs a module on given inputs, `random` writes random weights with their outputs,
`score` judges a generator the way kiln's DCGAN judge does. Needs torch; safetensors files
are read with the `safetensors` package when it is installed, else by `load_safetensors`
here (the format is a JSON header and raw little-endian tensors).
"""

import argparse
import json
import math
import struct
import sys

import torch
from torch import nn
import torch.nn.functional as F

SLOPE = 0.2  # kiln-dcgan's LeakyReLU slope


class Mlp(nn.Module):
    """kiln-mlp's `Mlp`: (Linear -> activation -> dropout)* -> Linear."""

    def __init__(self, input_size=784, hidden_sizes=(512, 256), output_size=10,
                 activation="relu", dropout=0.1):
        super().__init__()
        widths = [input_size, *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.output = nn.Linear(widths[-1], output_size)
        self.dropout = nn.Dropout(dropout)
        self.activation = {"relu": torch.relu, "sigmoid": torch.sigmoid,
                           "tanh": torch.tanh}[activation.lower()]

    def features(self, x):
        for layer in self.hidden:
            x = self.dropout(self.activation(layer(x)))
        return x

    def forward(self, x):
        return self.output(self.features(x))


class Generator(nn.Module):
    """kiln-dcgan's `Generator`: z -> Linear -> BN -> LeakyReLU -> [2f, s/4, s/4]
    -> ConvT -> BN -> LeakyReLU -> ConvT -> tanh."""

    def __init__(self, latent_size=100, channels=1, image_size=28, features=64):
        super().__init__()
        self.side = image_size // 4
        self.maps = 2 * features
        projected = self.maps * self.side * self.side
        self.project = nn.Linear(latent_size, projected)
        self.project_norm = nn.BatchNorm1d(projected)
        self.up1 = nn.ConvTranspose2d(2 * features, features, 4, stride=2, padding=1)
        self.up1_norm = nn.BatchNorm2d(features)
        self.up2 = nn.ConvTranspose2d(features, channels, 4, stride=2, padding=1)

    def forward(self, z):
        x = F.leaky_relu(self.project_norm(self.project(z)), SLOPE)
        x = x.view(z.shape[0], self.maps, self.side, self.side)
        x = F.leaky_relu(self.up1_norm(self.up1(x)), SLOPE)
        return torch.tanh(self.up2(x))


class Discriminator(nn.Module):
    """kiln-dcgan's `Discriminator`: Conv -> LeakyReLU -> Conv -> BN -> LeakyReLU -> Linear
    (one logit). With `norm="Spectral"` (kiln's recipe, `DiscriminatorNorm::Spectral`) there
    is no batch norm and each layer runs with `W / sigma`, `sigma` from one power iteration
    on the kept vector `u` (`spectral.down1`, `spectral.down2`, `spectral.classify`), as kiln
    computes it: `v = normalize(W^T u)`, `u' = normalize(W v)`, `sigma = u'^T W v`, with `W`
    seen as `[out, in*k*k]`; in training mode `u'` is kept, as kiln does on an autodiff
    device."""

    def __init__(self, channels=1, image_size=28, features=64, norm=None):
        super().__init__()
        if norm not in (None, "Batch", "Spectral"):
            raise ValueError(f"unknown discriminator norm {norm!r}: Batch or Spectral")
        side = image_size // 4
        self.down1 = nn.Conv2d(channels, features, 4, stride=2, padding=1)
        self.down2 = nn.Conv2d(features, 2 * features, 4, stride=2, padding=1)
        self.classify = nn.Linear(2 * features * side * side, 1)
        if norm == "Spectral":
            self.spectral = nn.Module()
            for name, rows in (("down1", features), ("down2", 2 * features), ("classify", 1)):
                self.spectral.register_buffer(name, F.normalize(torch.randn(rows), dim=0))
        else:
            self.down2_norm = nn.BatchNorm2d(2 * features)

    def _weight(self, name):
        weight = getattr(self, name).weight
        if not hasattr(self, "spectral"):
            return weight
        u = getattr(self.spectral, name)
        matrix = weight.reshape(weight.shape[0], -1)
        held = matrix.detach()
        v = F.normalize(held.t() @ u, dim=0, eps=1e-12)
        u_new = F.normalize(held @ v, dim=0, eps=1e-12)
        if self.training:
            with torch.no_grad():
                u.copy_(u_new)
        return weight / (u_new @ (matrix @ v))

    def forward(self, images):
        x = F.leaky_relu(F.conv2d(images, self._weight("down1"), self.down1.bias, 2, 1), SLOPE)
        x = F.conv2d(x, self._weight("down2"), self.down2.bias, 2, 1)
        if not hasattr(self, "spectral"):
            x = self.down2_norm(x)
        x = F.leaky_relu(x, SLOPE)
        return F.linear(x.flatten(1), self._weight("classify"), self.classify.bias)


def dcgan_init(module, generator=None):
    """DCGAN's initialisation, as kiln's: N(0, 0.02) weights, N(1, 0.02) batch-norm scales,
    zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02, generator=generator)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            nn.init.normal_(m.weight, 1.0, 0.02, generator=generator)
            nn.init.zeros_(m.bias)


MODELS = {"mlp": Mlp, "generator": Generator, "discriminator": Discriminator}

_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
           "F64": torch.float64, "I64": torch.int64, "I32": torch.int32}


def load_safetensors(path):
    """A safetensors file as a dict of tensors, with the `safetensors` package if installed."""
    try:
        import safetensors.torch
        return safetensors.torch.load_file(path)
    except ImportError:
        pass
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = _DTYPES[info["dtype"]]
        t = torch.frombuffer(bytearray(data[start:end]), dtype=dtype) if end > start \
            else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"])
    return tensors


def save_safetensors(tensors, path):
    """A dict of tensors as safetensors, with the `safetensors` package if installed."""
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    try:
        import safetensors.torch
        safetensors.torch.save_file(tensors, path)
        return
    except ImportError:
        pass
    names = {v: k for k, v in _DTYPES.items()}
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        # Without NumPy (torch does not require it): the bytes through a uint8 view.
        b = bytes(tensors[name].cpu().reshape(-1).view(torch.uint8).tolist())
        header[name] = {"dtype": names[tensors[name].dtype],
                        "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_state_dict(path):
    """A `state_dict` from .safetensors, .pt or .pth."""
    if path.endswith(".safetensors"):
        return load_safetensors(path)
    return torch.load(path, map_location="cpu", weights_only=True)


def build(model, config_json):
    config = json.loads(config_json) if config_json else {}
    return MODELS[model](**config)


def randomize(module, seed):
    """Random weights everywhere, batch-norm running statistics included (so that a test
    that forgets them fails)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif t.dim() >= 2:  # weights at the scale of PyTorch's own initialisation
                fan_in = math.prod(t.shape[1:])
                t.copy_(torch.randn(t.shape, generator=g) / math.sqrt(fan_in))
            else:
                t.copy_(0.1 * torch.randn(t.shape, generator=g))


def read_inputs(path):
    with open(path) as f:
        spec = json.load(f)
    return torch.tensor(spec["values"], dtype=torch.float32).reshape(spec["shape"])


def write_tensor(t, path):
    with open(path, "w") as f:
        json.dump({"shape": list(t.shape), "values": t.flatten().tolist()}, f)


def cmd_outputs(args):
    module = build(args.model, args.config)
    module.load_state_dict(load_state_dict(args.weights), strict=True)
    module.eval()
    with torch.no_grad():
        write_tensor(module(read_inputs(args.inputs)), args.out)


def cmd_random(args):
    torch.manual_seed(args.seed)
    module = build(args.model, args.config)
    randomize(module, args.seed)
    module.eval()
    sd = module.state_dict()
    save_safetensors({k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")},
                     f"{args.dir}/weights.safetensors")
    torch.save(sd, f"{args.dir}/weights.pt")
    g = torch.Generator().manual_seed(args.seed + 1)
    inputs = torch.randn([args.batch, *example_input_shape(module)], generator=g)
    write_tensor(inputs, f"{args.dir}/inputs.json")
    with torch.no_grad():
        write_tensor(module(inputs), f"{args.dir}/outputs.json")


def example_input_shape(module):
    """The shape of one input of `module`."""
    if isinstance(module, Mlp):
        first = module.hidden[0] if len(module.hidden) else module.output
        return [first.in_features]
    if isinstance(module, Generator):
        return [module.project.in_features]
    side = 4 * math.isqrt(module.classify.in_features // module.down2.out_channels)
    return [module.down1.in_channels, side, side]


def read_idx_images(path):
    """An IDX image file (optionally gzipped) as a float tensor [n, 1, h, w] in [0, 1]."""
    import gzip
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    _, n, h, w = struct.unpack(">IIII", data[:16])
    pixels = torch.frombuffer(bytearray(data[16:16 + n * h * w]), dtype=torch.uint8)
    return pixels.reshape(n, 1, h, w).float() / 255.0


def judge_features(judge, images, mean, std):
    """kiln's Judge: images in [-1, 1] -> [0, 1] -> standardised -> (features, probabilities)."""
    x = ((images.flatten(1) + 1) * 0.5 - mean) / std
    feats, probs = [], []
    with torch.no_grad():
        for chunk in x.split(500):
            f = judge.features(chunk)
            feats.append(f.double())
            probs.append(torch.softmax(judge.output(f), 1).double())
    return torch.cat(feats), torch.cat(probs)


def frechet_distance(a, b):
    """‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^½), as kiln's `frechet_distance`."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    values, vectors = torch.linalg.eigh(cov_a)
    root_a = vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float(((mu_a - mu_b) ** 2).sum() + torch.trace(cov_a) + torch.trace(cov_b)
                 - 2 * cross)


def class_coverage(probs):
    """exp(entropy) of the histogram of predicted classes, as kiln's `class_score`."""
    counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).double()
    p = counts[counts > 0] / counts.sum()
    return float(torch.exp(-(p * p.log()).sum()))


def cmd_score(args):
    torch.manual_seed(args.seed)
    generator = Generator()
    generator.load_state_dict(load_state_dict(args.generator), strict=True)
    generator.float().eval()
    judge = Mlp(dropout=0.0)
    judge.load_state_dict(load_state_dict(args.judge), strict=True)
    judge.float().eval()
    # The reference: the first min(samples, half the test set) real images, as kiln's.
    test = read_idx_images(args.test_images)
    real = test[: min(args.samples, test.shape[0] // 2)] * 2 - 1
    with torch.no_grad():
        fake = torch.cat([generator(torch.randn(500, 100)) for _ in range(args.samples // 500)])
    real_f, _ = judge_features(judge, real, args.mean, args.std)
    fake_f, fake_p = judge_features(judge, fake, args.mean, args.std)
    result = {"frechet_distance": frechet_distance(real_f, fake_f),
              "class_coverage": class_coverage(fake_p), "samples": args.samples}
    print(json.dumps(result))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("outputs", help="run a module with given weights on given inputs")
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--config", help="the kiln config's fields, JSON")
    p.add_argument("--weights", required=True)
    p.add_argument("--inputs", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_outputs)
    p = sub.add_parser("random", help="random weights (.safetensors, .pt), inputs, outputs")
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--config", help="the kiln config's fields, JSON")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--dir", required=True)
    p.set_defaults(run=cmd_random)
    p = sub.add_parser("score", help="judge a generator as kiln's DCGAN judge does")
    p.add_argument("--generator", required=True)
    p.add_argument("--judge", required=True, help="the judge MLP's weights (784-512-256-10)")
    p.add_argument("--test-images", required=True, help="t10k-images-idx3-ubyte[.gz]")
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--mean", type=float, default=0.1307)
    p.add_argument("--std", type=float, default=0.3081)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=cmd_score)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
