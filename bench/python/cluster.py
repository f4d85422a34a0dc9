"""W4 and W5 in scikit-learn, with the same recipe as kiln's (blobs drawn by numpy).

W4: KMeans(32, init="k-means++", n_init=1, max_iter=20, tol=0) on 100,000 x 16 points from
32 blobs (std 6). W5: DBSCAN(eps=0.3, min_samples=10) on 20,000 x 2 points from 3 blobs
(std 0.5). Prints one JSON line with the mean seconds of 3 runs after one warm-up.
With --scaling: W4 at 12,500 / 25,000 / 50,000 / 100,000 points and W5 at 5,000 / 10,000 /
20,000 / 40,000 points instead (keys w4_N_seconds, w5_N_seconds).
"""
import argparse
import json
import os
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=0.0)  # accepted for symmetry; unused
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--scaling", action="store_true")
    a = p.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    import numpy as np
    import sklearn
    from sklearn.cluster import DBSCAN, KMeans
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)

    def blobs(n, d, k, std, spread):
        centres = rng.uniform(-spread, spread, size=(k, d))
        return (centres[np.arange(n) % k] + rng.normal(0, std, size=(n, d))).astype(np.float32)

    def seconds(f):
        f()
        start = time.perf_counter()
        for _ in range(3):
            f()
        return (time.perf_counter() - start) / 3

    def w4(n):
        x = blobs(n, 16, 32, 6.0, 50.0)
        return seconds(lambda: KMeans(32, init="k-means++", n_init=1, max_iter=20, tol=0.0,
                                      random_state=0).fit(x))

    def w5(n):
        x = blobs(n, 2, 3, 0.5, 5.0)
        return seconds(lambda: DBSCAN(eps=0.3, min_samples=10, n_jobs=a.threads).fit(x))

    out = {"threads": a.threads, "sklearn": sklearn.__version__}
    with threadpool_limits(a.threads):
        if a.scaling:
            for n in (12_500, 25_000, 50_000, 100_000):
                out[f"w4_{n}_seconds"] = w4(n)
            for n in (5_000, 10_000, 20_000, 40_000):
                out[f"w5_{n}_seconds"] = w5(n)
        else:
            out["w4_seconds"] = w4(100_000)
            out["w5_seconds"] = w5(20_000)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
