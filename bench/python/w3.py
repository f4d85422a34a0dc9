"""W3 in PyTorch + Gymnasium: CleanRL's dqn.py loop with its CartPole-v1 defaults (the same
as kiln's: 4-120-84-2 ReLU network, Adam lr 2.5e-4, buffer 10k, batch 128, gamma 0.99,
target copy every 500 steps, epsilon 1 -> 0.05 over 250k steps, learning from step 10k,
a gradient step every 10 steps), environment steps per second over steps 1,000 to 31,000
(the clock starts at step 1,000, as kiln's, which times between its progress reports).

The replay buffer is a NumPy ring buffer (CleanRL uses Stable-Baselines3's, which is
slower), and the environment is a single gymnasium.make("CartPole-v1"), not a vector env.
Prints one JSON line; exits non-zero without torch or gymnasium.
"""
import argparse
import json
import random
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

STEPS = 30_000
FIRST = 1_000
TOTAL = 500_000


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=0.0)  # accepted for symmetry; unused
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)

    def network():
        return nn.Sequential(nn.Linear(4, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 2))

    q = network()
    target = network()
    target.load_state_dict(q.state_dict())
    optim = torch.optim.Adam(q.parameters(), lr=2.5e-4)
    cap = 10_000
    obs_buf = np.zeros((cap, 4), np.float32)
    next_buf = np.zeros((cap, 4), np.float32)
    act_buf = np.zeros(cap, np.int64)
    rew_buf = np.zeros(cap, np.float32)
    done_buf = np.zeros(cap, np.float32)
    size = head = 0

    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=1)
    start = None
    for step in range(FIRST + STEPS):
        if step == FIRST:
            start = time.perf_counter()
        eps = max(1.0 + (0.05 - 1.0) * step / (0.5 * TOTAL), 0.05)
        if random.random() < eps:
            action = env.action_space.sample()
        else:
            with torch.no_grad():
                action = int(q(torch.as_tensor(obs).unsqueeze(0)).argmax(dim=1).item())
        next_obs, reward, terminated, truncated, _ = env.step(action)
        obs_buf[head], next_buf[head], act_buf[head] = obs, next_obs, action
        rew_buf[head], done_buf[head] = reward, float(terminated)
        head = (head + 1) % cap
        size = min(size + 1, cap)
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()
        if step >= 10_000:
            if step % 10 == 0:
                idx = np.random.randint(0, size, 128)
                o, n = torch.as_tensor(obs_buf[idx]), torch.as_tensor(next_buf[idx])
                r, d = torch.as_tensor(rew_buf[idx]), torch.as_tensor(done_buf[idx])
                act = torch.as_tensor(act_buf[idx])
                with torch.no_grad():
                    y = r + 0.99 * target(n).max(dim=1).values * (1 - d)
                old = q(o).gather(1, act.unsqueeze(1)).squeeze()
                loss = F.mse_loss(y, old)
                optim.zero_grad()
                loss.backward()
                optim.step()
            if step % 500 == 0:
                target.load_state_dict(q.state_dict())
    rate = STEPS / (time.perf_counter() - start)
    print(json.dumps({"steps_per_s": rate, "threads": a.threads, "torch": torch.__version__,
                      "gymnasium": gym.__version__}))


if __name__ == "__main__":
    main()
