"""W2 in PyTorch: the same DCGAN as kiln's (generator z=100 -> linear 6272 -> BN -> LeakyReLU
-> [128, 7, 7] -> deconv 64 -> BN -> LeakyReLU -> deconv 1 -> tanh; discriminator conv 64 ->
LeakyReLU -> conv 128 -> BN -> LeakyReLU -> linear 1), batch 64, Adam 2e-4 (beta1 0.5). One
iteration = one D step on real + detached fake, then one G step, with the losses from logits.
Iterations per second; prints one JSON line. Exits non-zero without torch.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import nn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--min-iters", type=int, default=5)
    a = p.parse_args()
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.project = nn.Linear(100, 128 * 7 * 7)
            self.bn0 = nn.BatchNorm1d(128 * 7 * 7)
            self.up1 = nn.ConvTranspose2d(128, 64, 4, 2, 1)
            self.bn1 = nn.BatchNorm2d(64)
            self.up2 = nn.ConvTranspose2d(64, 1, 4, 2, 1)

        def forward(self, z):
            x = F.leaky_relu(self.bn0(self.project(z)), 0.2).view(-1, 128, 7, 7)
            x = F.leaky_relu(self.bn1(self.up1(x)), 0.2)
            return torch.tanh(self.up2(x))

    class D(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(1, 64, 4, 2, 1)
            self.c2 = nn.Conv2d(64, 128, 4, 2, 1)
            self.bn = nn.BatchNorm2d(128)
            self.fc = nn.Linear(128 * 7 * 7, 1)

        def forward(self, x):
            x = F.leaky_relu(self.c1(x), 0.2)
            x = F.leaky_relu(self.bn(self.c2(x)), 0.2)
            return self.fc(x.flatten(1))

    g, d = G().to(dev), D().to(dev)
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(64, 1, 28, 28, device=dev) * 2 - 1

    def step():
        z = torch.randn(64, 100, device=dev)
        fake = g(z)
        d_loss = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
        od.zero_grad()
        d_loss.backward()
        od.step()
        g_loss = F.softplus(-d(fake)).mean()
        og.zero_grad()
        g_loss.backward()
        og.step()

    for _ in range(a.warmup):
        step()
    sync()
    start = time.perf_counter()
    iters = 0
    while True:
        step()
        iters += 1
        if iters >= a.min_iters and iters % 5 == 0:
            sync()
            if time.perf_counter() - start >= a.seconds:
                break
    rate = iters / (time.perf_counter() - start)
    print(json.dumps({"iterations_per_s": rate, "threads": a.threads, "device": a.device,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
