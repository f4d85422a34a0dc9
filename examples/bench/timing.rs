//! Timing, the environment a run states, and the results table.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kiln::backend::Backend;

use crate::Row;

/// Runs `step` `warmup` times, then repeatedly until `seconds` have passed (at least
/// `min_iters` times), calling `sync` before reading the clock. Returns iterations per second.
pub fn per_second(
    warmup: usize,
    seconds: f64,
    min_iters: usize,
    mut step: impl FnMut(),
    sync: impl Fn(),
) -> f64 {
    for _ in 0..warmup {
        step();
    }
    sync();
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut iters = 0usize;
    loop {
        step();
        iters += 1;
        if iters >= min_iters && iters.is_multiple_of(5) {
            sync();
            if start.elapsed() >= budget {
                break;
            }
        }
    }
    sync();
    iters as f64 / start.elapsed().as_secs_f64()
}

/// What a benchmark ran with: cores and the thread settings of each runtime.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Environment {
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// Thread-related environment variables as set for the run.
    pub vars: BTreeMap<String, String>,
    /// Threads in rayon's global pool, which flex and ndarray run on: what they actually use.
    pub rayon_threads: usize,
}

impl Environment {
    /// Reads the machine and the variables.
    pub fn capture() -> Self {
        let vars = [
            "RAYON_NUM_THREADS",
            "OMP_NUM_THREADS",
            "OMP_WAIT_POLICY",
            "MKL_NUM_THREADS",
            "KILN_BENCH_THREADS",
        ]
        .into_iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
        Self {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            vars,
            rayon_threads: rayon::current_num_threads(),
        }
    }

    /// Threads the runners should use: `KILN_BENCH_THREADS`, else every CPU.
    pub fn threads(&self) -> usize {
        self.vars
            .get("KILN_BENCH_THREADS")
            .and_then(|v| v.parse().ok())
            .unwrap_or(self.cpus)
    }

    /// One line for the top of the output, and a warning line when OpenMP's wait policy is
    /// set to PASSIVE (it slows PyTorch's and LibTorch's training by about a third here, so
    /// the figures are not what a user gets: docs/benchmarks.md, W1).
    pub fn describe(&self) -> String {
        let vars: Vec<String> = self.vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut line = format!(
            "cpus: {}, threads: flex/ndarray (rayon) {}, PyTorch {}, env: {}",
            self.cpus,
            self.rayon_threads,
            self.threads(),
            if vars.is_empty() {
                "(none set)".into()
            } else {
                vars.join(" ")
            }
        );
        if self
            .vars
            .get("OMP_WAIT_POLICY")
            .is_some_and(|v| v.eq_ignore_ascii_case("passive"))
        {
            line.push_str(
                "\nwarning: OMP_WAIT_POLICY=PASSIVE slows PyTorch and LibTorch (tch) by about a \
                 third here; unset it for what a user gets",
            );
        }
        line
    }
}

/// The results as one table: a row per workload and metric, a column per runner, and two
/// speed-ups against the Python reference (PyTorch or scikit-learn) where both exist: of the
/// best pure-Rust CPU backend (flex, ndarray), and of the best CPU backend of all (tch
/// included, which runs LibTorch itself). Above 1× means kiln is faster.
pub fn table(rows: &[Row]) -> String {
    let mut runners: Vec<String> = Vec::new();
    let mut lines: Vec<(String, String)> = Vec::new();
    for r in rows {
        if !runners.contains(&r.runner) {
            runners.push(r.runner.clone());
        }
        let key = (r.workload.clone(), r.metric.clone());
        if !lines.contains(&key) {
            lines.push(key);
        }
    }
    let mut out = format!(
        "| workload | metric | {} | best Rust CPU vs reference | best CPU vs reference |\n",
        runners.join(" | ")
    );
    out.push_str(&format!(
        "|---|---|{}---|---|\n",
        "---|".repeat(runners.len())
    ));
    for (w, m) in &lines {
        let get = |runner: &str| {
            rows.iter()
                .find(|r| &r.workload == w && &r.metric == m && r.runner == runner)
                .map(|r| r.value)
        };
        let cells: Vec<String> = runners
            .iter()
            .map(|runner| {
                get(runner).map_or("–".into(), |v| {
                    if m.contains("seconds") || m.ends_with(" ms") {
                        format!("{v:.3}")
                    } else {
                        format!("{v:.1}")
                    }
                })
            })
            .collect();
        // Times (seconds, or milliseconds per call) are better lower; rates higher.
        let lower_is_better = m.contains("seconds") || m.ends_with(" ms");
        let ratio = |keep: &dyn Fn(Backend) -> bool| {
            let best = runners
                .iter()
                .filter(|r| r.parse::<Backend>().is_ok_and(keep))
                .filter_map(|r| get(r))
                .reduce(|a, b| if lower_is_better { a.min(b) } else { a.max(b) });
            match (best, get("pytorch").or_else(|| get("scikit-learn"))) {
                (Some(k), Some(p)) if lower_is_better => format!("{:.2}×", p / k),
                (Some(k), Some(p)) => format!("{:.2}×", k / p),
                _ => "–".into(),
            }
        };
        let rust = ratio(&|b| b.is_cpu() && b != Backend::Tch);
        let all = ratio(&|b| b.is_cpu());
        out.push_str(&format!(
            "| {w} | {m} | {} | {rust} | {all} |\n",
            cells.join(" | ")
        ));
    }
    out
}

/// Runs `bench/python/<script>` with `python3`, passing the seconds and threads, and parses
/// the JSON object it prints last. An error says why there is no PyTorch figure.
pub fn python_reference(
    script: &str,
    seconds: f64,
    threads: usize,
    extra_args: &[&str],
) -> Result<serde_json::Value, String> {
    // The scripts beside the sources this binary was built from, or those in
    // $KILN_BENCH_PYTHON_DIR (a binary run on another machine).
    let dir = std::env::var_os("KILN_BENCH_PYTHON_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/python"),
        std::path::PathBuf::from,
    );
    let path = dir.join(script);
    let out = std::process::Command::new("python3")
        .arg(&path)
        .args([
            "--seconds",
            &seconds.to_string(),
            "--threads",
            &threads.to_string(),
        ])
        .args(extra_args)
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("python3 failed").to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).map_err(|e| format!("unexpected output from {script}: {e}"))
}
