"""W4 and W5 in scikit-learn: on the points kiln's bench wrote (--points DIR), else on
blobs drawn by numpy with the same recipe.

W4: KMeans(32, init="k-means++", n_init=1, max_iter=20, tol=0) on 100,000 x 16 points from
32 blobs (std 6), reporting the Lloyd iterations it made (n_iter_; it stops early when the
labels stop changing). W5: DBSCAN(eps=0.3, min_samples=10) on 20,000 x 2 points from 3 blobs
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
    p.add_argument("--points", help="folder of w4_N.f32 / w5_N.f32 written by kiln's bench: "
                   "cluster those points instead of drawing new ones")
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
            last = f()
        return (time.perf_counter() - start) / 3, last

    def points(name, n, d, fallback):
        if a.points:
            return np.fromfile(os.path.join(a.points, f"{name}_{n}.f32"), dtype="<f4").reshape(n, d)
        return fallback()

    def w4(n):
        x = points("w4", n, 16, lambda: blobs(n, 16, 32, 6.0, 50.0))
        t, model = seconds(lambda: KMeans(32, init="k-means++", n_init=1, max_iter=20, tol=0.0,
                                          random_state=0).fit(x))
        return t, int(model.n_iter_), float(model.inertia_)

    def w4_same_start(n):
        x = points("w4", n, 16, lambda: None)
        init = np.fromfile(os.path.join(a.points, f"w4_init_{n}.f32"), dtype="<f4").reshape(32, 16)
        t, model = seconds(lambda: KMeans(32, init=init, n_init=1, max_iter=20, tol=0.0).fit(x))
        return t, int(model.n_iter_), float(model.inertia_)

    def w5(n):
        x = points("w5", n, 2, lambda: blobs(n, 2, 3, 0.5, 5.0))
        return seconds(lambda: DBSCAN(eps=0.3, min_samples=10, n_jobs=a.threads).fit(x))[0]

    out = {"threads": a.threads, "sklearn": sklearn.__version__}
    with threadpool_limits(a.threads):
        if a.scaling:
            for n in (12_500, 25_000, 50_000, 100_000):
                out[f"w4_{n}_seconds"], out[f"w4_{n}_iterations"], _ = w4(n)
            for n in (5_000, 10_000, 20_000, 40_000):
                out[f"w5_{n}_seconds"] = w5(n)
        else:
            out["w4_seconds"], out["w4_iterations"], out["w4_inertia"] = w4(100_000)
            if a.points:
                (out["w4_same_start_seconds"], out["w4_same_start_iterations"],
                 out["w4_same_start_inertia"]) = w4_same_start(100_000)
            out["w5_seconds"] = w5(20_000)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
