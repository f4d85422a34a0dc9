"""The `layers` workload in PyTorch: each layer of W2's DCGAN (see w2.py) at W2's shapes,
batch 64, timed alone: forward, and forward + backward of the output's sum (with the input's
gradient where kiln's examples/bench/layers.rs asks for it), plus one Adam step of each
network, and three matrix products alone. Milliseconds per call; prints one JSON line
{name: [fwd_ms, fwd_bwd_ms]} ({name: ms} for the products).
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import nn


def ms(f, seconds, warmup=3, min_iters=10):
    for _ in range(warmup):
        f()
    start = time.perf_counter()
    iters = 0
    while True:
        f()
        iters += 1
        if iters >= min_iters and iters % 5 == 0 and time.perf_counter() - start >= seconds:
            break
    return 1000.0 * (time.perf_counter() - start) / iters


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    b = 64
    project, project_norm = nn.Linear(100, 6272), nn.BatchNorm1d(6272)
    up1, up1_norm = nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64)
    up2 = nn.ConvTranspose2d(64, 1, 4, 2, 1)
    down1, down2 = nn.Conv2d(1, 64, 4, 2, 1), nn.Conv2d(64, 128, 4, 2, 1)
    down2_norm, classify = nn.BatchNorm2d(128), nn.Linear(6272, 1)

    def inp(*shape, grad):
        return torch.randn(*shape).requires_grad_(grad)

    z = inp(b, 100, grad=False)
    v1 = inp(b, 6272, grad=True)
    v7 = inp(b, 128, 7, 7, grad=True)
    v14 = inp(b, 64, 14, 14, grad=True)
    img = inp(b, 1, 28, 28, grad=False)
    cases = {
        "G.project linear": lambda: project(z),
        "G.project_norm batch norm 1d": lambda: project_norm(v1),
        "G.up1 conv-transpose 128→64": lambda: up1(v7),
        "G.up1_norm batch norm": lambda: up1_norm(v14),
        "G.up2 conv-transpose 64→1": lambda: up2(v14),
        "D.down1 conv 1→64": lambda: down1(img),
        "D.down2 conv 64→128": lambda: down2(v14),
        "D.down2_norm batch norm": lambda: down2_norm(v7),
        "D.classify linear": lambda: classify(v1),
        "LeakyReLU [64,64,14,14]": lambda: F.leaky_relu(v14, 0.2),
    }
    out = {}
    for name, f in cases.items():
        fwd = ms(lambda: f().sum(), a.seconds)
        both = ms(lambda: f().sum().backward(), a.seconds)
        out[name] = [fwd, both]

    g = nn.ModuleList([project, project_norm, up1, up1_norm, up2])
    d = nn.ModuleList([down1, down2, down2_norm, classify])
    for p_ in list(g.parameters()) + list(d.parameters()):
        p_.grad = torch.randn_like(p_)
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def adam():
        og.step()
        od.step()

    t = ms(adam, a.seconds)
    out["Adam step G + D"] = [t, t]

    # Matrix products alone (examples/bench/layers.rs, PRODUCTS).
    with torch.no_grad():
        for m, k, n in [(1024, 784, 512), (1024, 512, 256), (3136, 1024, 128)]:
            x, y = torch.randn(m, k), torch.randn(k, n)
            out[f"matmul [{m},{k}]·[{k},{n}]"] = ms(lambda: x @ y, a.seconds)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
