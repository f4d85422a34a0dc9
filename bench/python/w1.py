"""W1 in PyTorch: the same MLP, optimiser, batch sizes and timing as kiln's W1.

Run by `cargo xtask bench`; prints one JSON line. Exits non-zero (and kiln's table shows no
PyTorch column) when torch is not installed.
"""
import argparse
import json
import time

import torch
from torch import nn


def per_second(step, warmup, seconds, min_iters, sync):
    for _ in range(warmup):
        step()
    sync()
    start = time.perf_counter()
    iters = 0
    while True:
        step()
        iters += 1
        if iters >= min_iters and iters % 5 == 0:
            sync()
            if time.perf_counter() - start >= seconds:
                break
    return iters / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def mlp():
        return nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
        )

    model = mlp().to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(128, 784, device=dev)
    y = torch.arange(128, device=dev) % 10

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    train = per_second(train_step, 10, a.seconds, 20, sync) * 128

    model = mlp().to(dev).eval()
    xi = torch.rand(1024, 784, device=dev)

    def infer_step():
        with torch.inference_mode():
            model(xi)

    infer = per_second(infer_step, 3, a.seconds, 5, sync) * 1024
    print(json.dumps({
        "train_samples_per_s": train,
        "infer_samples_per_s": infer,
        "threads": torch.get_num_threads(),
        "device": a.device,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
