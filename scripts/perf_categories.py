"""Groups a `perf record` profile of kiln (or any Burn program) by the kind of kernel each
sample's symbol names, for docs/benchmarks.md ("Where a W2 iteration goes").

Usage: python3 scripts/perf_categories.py w2.data   (needs `perf` on PATH)
Prints a Markdown table row per category with its share of the samples.
"""
import sys, subprocess, re, collections
data=sys.argv[1]
out=subprocess.run(["perf","report","-i",data,"--no-children","--sort","dso,symbol","--stdio","--percent-limit","0"],capture_output=True,text=True).stdout
cats=collections.OrderedDict([("matrix products and convolutions in oneDNN's JIT code (tch)",r"^JIT-tid"),("matrix products (gemm, oneDNN/MKL sgemm)",r"gemm|sgemm|mkl_blas|jit_avx|brgemm|dnnl.*gemm"),("convolution / transposed-convolution kernels (incl. im2col/col2im)",r"conv|im2col|col2im|deconv"),("mask_where / where (LeakyReLU under autodiff)",r"mask_where|where_kernel"),("batch-norm kernels",r"batch_norm|batchnorm"),("element-wise ops (add/mul/scalar/compare/unary)",r"scalar_op|binary_op|zip|macerator|mul_kernel|add_kernel|lt_kernel|le_kernel|gt_kernel|threshold|unary|leaky|softplus|exp|log1p|tanh|sigmoid|clamp|fill|mask_fill|masked_fill|div_true"),("layout copies (transposes, contiguous copies, memmove)",r"copy|memmove|memcpy|permute|transpose"),("reductions (sum/mean)",r"reduce|sum_|mean"),("allocation, page faults, zeroing (kernel + memset)",r"\[k\]|memset|malloc|free|alloc"),("thread pool (OpenMP/rayon waits and scheduling)",r"libgomp|rayon|crossbeam|sched_yield|futex")])
tot=collections.Counter(); other=0.0
for line in out.splitlines():
    line=line.replace("[JIT] tid","JIT-tid")
    m=re.match(r"\s*([0-9.]+)%\s+(\S+)\s+(?:\d+\s+)?(\[.\])\s+(.*)",line)
    if not m: continue
    pct=float(m.group(1)); text=m.group(2)+" "+m.group(3)+" "+m.group(4)
    for c,rx in cats.items():
        if re.search(rx,text,re.I): tot[c]+=pct; break
    else: other+=pct
for c in cats: print(f"| {c} | {tot[c]:.1f}% |")
print(f"| other | {other:.1f}% |")
