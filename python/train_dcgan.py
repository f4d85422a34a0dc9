"""Train kiln's DCGAN architecture in PyTorch, with the classic recipe of kiln's `dcgan`
example: L_D = BCE on logits, L_G = −log D(G(z)), Adam(2e-4, β = (0.5, 0.999)) for both,
batch 64, z ~ N(0, 1) of length 100, DCGAN's initialisation, images scaled to [−1, 1].

    python3 python/train_dcgan.py --data-dir ../shared/data/mnist --epochs 1 \
        --out generator.safetensors

The generator is written as a `state_dict` in safetensors (linear and convolution weights in
f16 with --half, as kiln's pretrained files), which kiln loads with
`Generator::load_pytorch` and `dcgan --generate FILE`.
"""

import argparse
import os
import time

import torch
import torch.nn.functional as F

import kiln_torch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True,
                        help="folder with train-images-idx3-ubyte[.gz]")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    parser.add_argument("--half", action="store_true",
                        help="linear and convolution weights in f16")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    name = next(n for n in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte")
                if os.path.exists(os.path.join(args.data_dir, n)))
    images = kiln_torch.read_idx_images(os.path.join(args.data_dir, name)) * 2 - 1
    g, d = kiln_torch.Generator(), kiln_torch.Discriminator()
    kiln_torch.dcgan_init(g)
    kiln_torch.dcgan_init(d)
    opt_g = torch.optim.Adam(g.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=args.lr, betas=(0.5, 0.999))
    n = images.shape[0] - images.shape[0] % args.batch_size
    for epoch in range(1, args.epochs + 1):
        start, order = time.time(), torch.randperm(images.shape[0])[:n]
        totals = [0.0, 0.0]
        for step, batch in enumerate(order.split(args.batch_size), 1):
            real = images[batch]
            fake = g(torch.randn(real.shape[0], 100))
            ones = torch.ones(real.shape[0], 1)
            zeros = torch.zeros(real.shape[0], 1)
            loss_d = F.binary_cross_entropy_with_logits(d(real), ones) + \
                F.binary_cross_entropy_with_logits(d(fake.detach()), zeros)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            loss_g = F.binary_cross_entropy_with_logits(d(fake), ones)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            totals[0] += loss_d.item()
            totals[1] += loss_g.item()
        print(f"epoch {epoch}/{args.epochs}  d_loss {totals[0] / step:.4f}  "
              f"g_loss {totals[1] / step:.4f}  ({time.time() - start:.0f} s)", flush=True)
    state = {}
    for key, value in g.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        norm = key.split(".")[0].endswith("_norm")
        state[key] = value.half() if args.half and not norm else value
    kiln_torch.save_safetensors(state, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
