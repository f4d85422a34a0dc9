//! `layers`: W2's DCGAN taken apart. Each layer of the generator and discriminator at W2's
//! shapes (batch 64), timed alone on an autodiff device: forward, and forward + backward (the
//! gradient of the output's sum, with the input's gradient where W2 needs it), plus one Adam
//! step of each network. `bench/python/w2_layers.py` times the same layers in PyTorch. The
//! figures are milliseconds per call; with the call counts of one W2 iteration
//! ([`PER_ITERATION`]) they split an iteration's time by layer (docs/benchmarks.md). Also
//! timed: three matrix products alone ([`PRODUCTS`]) and D.down2 formulated as im2col + one
//! matrix product through the public tensor API ([`conv_unfold`], [`conv_slices`]).

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::ops::PadMode;
use burn::tensor::{Device, Distribution, Tensor};
use kiln::backend::Backend;
use kiln::cli::AnyError;
use kiln::dcgan::{Discriminator, DiscriminatorConfig, Generator, GeneratorConfig, dcgan_adam};

use crate::timing::{Environment, per_second};
use crate::{Row, torch_runner};

const BATCH: usize = 64;

/// How often one W2 iteration runs each measurement: (name, forward passes, backward passes).
/// The discriminator runs forward three times (real, detached fake, fake for the generator's
/// loss), and each of those graphs is traversed backward once (the discriminator's loss
/// covers the first two, the generator's the third); everything in the generator once each
/// way. Every forward pass in W2 is followed by its backward pass, so the share of a row is
/// its forward + backward time times the count. (In the discriminator's step `down1` needs no
/// input gradient, and in the generator's step the discriminator's weights need none; the
/// timed backward computes the weights' gradients and, except for `down1`, the input's, so the
/// discriminator's rows are an approximation.) The
/// LeakyReLUs are counted in units of the `[64, 64, 14, 14]` one timed (W2 runs five, of 0.5–1
/// of that size, nine passes in all).
pub const PER_ITERATION: [(&str, f64, f64); 11] = [
    ("G.project linear", 1.0, 1.0),
    ("G.project_norm batch norm 1d", 1.0, 1.0),
    ("G.up1 conv-transpose 128→64", 1.0, 1.0),
    ("G.up1_norm batch norm", 1.0, 1.0),
    ("G.up2 conv-transpose 64→1", 1.0, 1.0),
    ("D.down1 conv 1→64", 3.0, 3.0),
    ("D.down2 conv 64→128", 3.0, 3.0),
    ("D.down2_norm batch norm", 3.0, 3.0),
    ("D.classify linear", 3.0, 3.0),
    ("LeakyReLU [64,64,14,14]", 6.0, 6.0),
    ("Adam step G + D", 1.0, 0.0),
];

/// Matrix products timed alone (no autodiff), as `[m, k] · [k, n]`: the two largest of W1's
/// inference (batch 1024) and the product at the heart of `D.down2` as im2col + GEMM
/// (`[64·7·7, 64·4·4] · [64·4·4, 128]`), to tell a backend's matrix product from its
/// convolution.
pub const PRODUCTS: [[usize; 3]; 3] = [[1024, 784, 512], [1024, 512, 256], [3136, 1024, 128]];

/// D.down2 (4×4, stride 2, padding 1) as im2col through `unfold` + one matrix product: the
/// issue's suggested kiln-side formulation through Burn's public tensor API, timed next to
/// Burn's `conv2d` by [`alternatives`]. Not used by the model: slower on flex and tch
/// (docs/benchmarks.md, "W2 layer by layer").
pub fn conv_unfold(x: Tensor<4>, w: Tensor<4>, b: Tensor<1>) -> Tensor<4> {
    let [n, c, h, wd] = x.dims();
    let o = w.dims()[0];
    let (oh, ow) = (h / 2, wd / 2);
    let xp = x.pad((1, 1, 1, 1), PadMode::Constant(0.0));
    let p: Tensor<5> = xp.unfold(2, 4, 2); // [n, c, oh, w + 2, 4]
    let p: Tensor<6> = p.unfold(3, 4, 2); // [n, c, oh, ow, 4, 4]
    let cols = p.permute([0, 2, 3, 1, 4, 5]).reshape([n * oh * ow, c * 16]);
    let out = cols.matmul(w.reshape([o, c * 16]).transpose()) + b.reshape([1, o]);
    out.reshape([n, oh, ow, o]).permute([0, 3, 1, 2])
}

/// The same convolution as space-to-depth (a reshape), four shifted slices stacked, and one
/// matrix product.
pub fn conv_slices(x: Tensor<4>, w: Tensor<4>, b: Tensor<1>) -> Tensor<4> {
    let [n, c, h, wd] = x.dims();
    let o = w.dims()[0];
    let (oh, ow) = (h / 2, wd / 2);
    let xp = x.pad((1, 1, 1, 1), PadMode::Constant(0.0));
    let t: Tensor<6> = xp.reshape([n, c, oh + 1, 2, ow + 1, 2]); // n, c, r, a, s, bb
    let mut parts = Vec::new();
    for dh in 0..2 {
        for dw in 0..2 {
            parts.push(
                t.clone()
                    .slice([0..n, 0..c, dh..dh + oh, 0..2, dw..dw + ow, 0..2]),
            );
        }
    }
    let st: Tensor<7> = Tensor::stack(parts, 0); // [4, n, c, oh, 2, ow, 2]
    let st: Tensor<8> = st.reshape([2, 2, n, c, oh, 2, ow, 2]); // dh, dw, n, c, oh, a, ow, bb
    let cols = st
        .permute([2, 4, 6, 3, 0, 5, 1, 7])
        .reshape([n * oh * ow, c * 16]);
    let out = cols.matmul(w.reshape([o, c * 16]).transpose()) + b.reshape([1, o]);
    out.reshape([n, oh, ow, o]).permute([0, 3, 1, 2])
}

/// The DCGAN's own LeakyReLU (slope 0.2).
fn leaky(x: Tensor<4>) -> Tensor<4> {
    kiln::dcgan::leaky_relu(x, 0.2)
}

/// Milliseconds per call of `f`.
fn ms(device: &Device, seconds: f64, mut f: impl FnMut()) -> f64 {
    1000.0
        / per_second(3, seconds, 10, &mut f, || {
            device.sync().expect("device sync")
        })
}

fn input<const D: usize>(shape: [usize; D], grad: bool, device: &Device) -> Tensor<D> {
    let t = Tensor::random(shape, Distribution::Normal(0.0, 1.0), device);
    if grad { t.require_grad() } else { t }
}

/// Registers one parameter's gradient.
type Register = Box<dyn Fn(&mut GradientsParams)>;

/// A random gradient for every float parameter of a module, registered afresh by
/// [`make`](Self::make) (`GradientsParams` is not `Clone`).
struct RandomGrads {
    register: Vec<Register>,
    device: Device,
}

impl RandomGrads {
    fn of<M: Module>(module: &M, device: &Device) -> Self {
        let mut v = RandomGrads {
            register: Vec::new(),
            device: device.clone(),
        };
        module.visit(&mut v);
        v
    }

    fn make(&self) -> GradientsParams {
        let mut grads = GradientsParams::new();
        for register in &self.register {
            register(&mut grads);
        }
        grads
    }
}

impl ModuleVisitor for RandomGrads {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t: Tensor<D> = input(param.val().dims(), false, &self.device);
        let id = param.id;
        self.register
            .push(Box::new(move |grads| grads.register(id, t.clone())));
    }
}

/// (name, forward ms, forward + backward ms) for each entry of [`PER_ITERATION`].
fn times(device: &Device, seconds: f64) -> Result<Vec<(String, f64, f64)>, AnyError> {
    let dev = device.clone().autodiff();
    let g: Generator = GeneratorConfig::new().init_seeded(&dev, 0)?;
    let d: Discriminator = DiscriminatorConfig::new().init_seeded(&dev, 1)?;
    let mut out = Vec::new();
    let mut pair = |name: &str, fwd: &mut dyn FnMut() -> Tensor<1>| {
        let f = ms(device, seconds, || {
            let _ = fwd();
        });
        let fb = ms(device, seconds, || {
            let _ = fwd().backward();
        });
        out.push((name.to_string(), f, fb));
    };
    let z = input([BATCH, 100], false, &dev);
    pair(PER_ITERATION[0].0, &mut || {
        g.project.forward(z.clone()).sum()
    });
    let x = input([BATCH, 6272], true, &dev);
    pair(PER_ITERATION[1].0, &mut || {
        g.project_norm.forward(x.clone()).sum()
    });
    let x = input([BATCH, 128, 7, 7], true, &dev);
    pair(PER_ITERATION[2].0, &mut || g.up1.forward(x.clone()).sum());
    let x = input([BATCH, 64, 14, 14], true, &dev);
    pair(PER_ITERATION[3].0, &mut || {
        g.up1_norm.forward(x.clone()).sum()
    });
    pair(PER_ITERATION[4].0, &mut || g.up2.forward(x.clone()).sum());
    let img = input([BATCH, 1, 28, 28], false, &dev);
    pair(PER_ITERATION[5].0, &mut || {
        d.down1.forward(img.clone()).sum()
    });
    pair(PER_ITERATION[6].0, &mut || d.down2.forward(x.clone()).sum());
    let y = input([BATCH, 128, 7, 7], true, &dev);
    // The default discriminator has its batch norm.
    if let Some(norm) = &d.down2_norm {
        pair(PER_ITERATION[7].0, &mut || norm.forward(y.clone()).sum());
    }
    let flat = input([BATCH, 6272], true, &dev);
    pair(PER_ITERATION[8].0, &mut || {
        d.classify.forward(flat.clone()).sum()
    });
    pair(PER_ITERATION[9].0, &mut || leaky(x.clone()).sum());
    // Adam: one step of each network per call, on random gradients made once.
    let (gg, dg) = (RandomGrads::of(&g, device), RandomGrads::of(&d, device));
    let (mut og, mut od) = (dcgan_adam(), dcgan_adam());
    let (mut g, mut d) = (g, d);
    let adam = ms(device, seconds, || {
        g = og.step(2e-4, g.clone(), gg.make());
        d = od.step(2e-4, d.clone(), dg.make());
    });
    drop((g, d));
    out.push((PER_ITERATION[10].0.to_string(), adam, adam));
    Ok(out)
}

/// A convolution of `x` with a weight and a bias.
type Conv = fn(Tensor<4>, Tensor<4>, Tensor<1>) -> Tensor<4>;

/// D.down2's forward and forward + backward as Burn's `conv2d` and as [`conv_unfold`] and
/// [`conv_slices`], with each one's largest difference from `conv2d`'s output:
/// (name, forward ms, forward + backward ms, max |difference|).
fn alternatives(device: &Device, seconds: f64) -> Result<Vec<(String, f64, f64, f32)>, AnyError> {
    let dev = device.clone().autodiff();
    let d: Discriminator = DiscriminatorConfig::new().init_seeded(&dev, 1)?;
    let x = input([BATCH, 64, 14, 14], true, &dev);
    let w = d.down2.weight.val();
    let b = d
        .down2
        .bias
        .as_ref()
        .map(|b| b.val())
        .ok_or("down2 has a bias")?;
    let reference = d.down2.forward(x.clone());
    let mut out = Vec::new();
    let forms: [(&str, Conv); 2] = [
        ("D.down2 as unfold + matmul", conv_unfold),
        ("D.down2 as slices + matmul", conv_slices),
    ];
    for (name, f) in forms {
        let diff = (f(x.clone(), w.clone(), b.clone()) - reference.clone())
            .abs()
            .max()
            .into_scalar::<f32>();
        let fwd = ms(device, seconds, || {
            let _ = f(x.clone(), w.clone(), b.clone()).sum();
        });
        let both = ms(device, seconds, || {
            let _ = f(x.clone(), w.clone(), b.clone()).sum().backward();
        });
        out.push((name.to_string(), fwd, both, diff));
    }
    Ok(out)
}

/// Milliseconds per product of each of [`PRODUCTS`].
fn products(device: &Device, seconds: f64) -> Vec<f64> {
    PRODUCTS
        .iter()
        .map(|&[m, k, n]| {
            let a = input([m, k], false, device);
            let b = input([k, n], false, device);
            ms(device, seconds, || {
                let _ = a.clone().matmul(b.clone());
            })
        })
        .collect()
}

fn product_name([m, k, n]: [usize; 3]) -> String {
    format!("matmul [{m},{k}]·[{k},{n}]")
}

/// The two rows of one timed pair: forward, and forward + backward (milliseconds).
fn pair_rows(runner: &str, name: &str, fwd: f64, both: f64) -> [Row; 2] {
    [
        Row::new("layers", &format!("{name} fwd ms"), runner, fwd),
        Row::new("layers", &format!("{name} fwd+bwd ms"), runner, both),
    ]
}

/// The per-layer rows for every backend given, plus PyTorch where installed.
pub fn run(backends: &[Backend], seconds: f64, pytorch: bool) -> Result<Vec<Row>, AnyError> {
    let seconds = (seconds / 4.0).max(0.3);
    let mut rows = Vec::new();
    let mut push = |runner: &str,
                    list: &[(String, f64, f64)],
                    products: &[f64],
                    alternatives: &[(String, f64, f64, f32)]| {
        let mut total = 0.0;
        for ((name, f, fb), (_, nf, nb)) in list.iter().zip(PER_ITERATION) {
            // One iteration's share: forward-only calls plus forward+backward calls.
            let share = (nf - nb) * f + nb * fb;
            total += share;
            eprintln!(
                "layers {runner}: {name:<32} fwd {f:7.3} ms  fwd+bwd {fb:7.3} ms  per iteration {share:7.2} ms"
            );
            rows.extend(pair_rows(runner, name, *f, *fb));
        }
        eprintln!("layers {runner}: sum per iteration {total:.1} ms");
        rows.push(Row::new("layers", "sum per W2 iteration ms", runner, total));
        for (&shape, &t) in PRODUCTS.iter().zip(products) {
            let name = product_name(shape);
            let [m, k, n] = shape;
            let gflops = 2.0 * (m * k * n) as f64 / t / 1e6;
            eprintln!("layers {runner}: {name:<32} {t:7.3} ms  ({gflops:.0} GFLOP/s)");
            rows.push(Row::new("layers", &format!("{name} ms"), runner, t));
        }
        for (name, f, fb, diff) in alternatives {
            eprintln!(
                "layers {runner}: {name:<32} fwd {f:7.3} ms  fwd+bwd {fb:7.3} ms  (max |difference| from conv2d {diff:.1e})"
            );
            rows.extend(pair_rows(runner, name, *f, *fb));
        }
    };
    for (backend, device) in crate::working(backends, "layers") {
        let list = times(&device, seconds)?;
        let alt = alternatives(&device, seconds)?;
        push(backend.name(), &list, &products(&device, seconds), &alt);
    }
    if pytorch {
        let threads = Environment::capture().threads();
        match crate::timing::python_reference("w2_layers.py", seconds, threads, &[]) {
            Ok(v) => {
                let list: Vec<(String, f64, f64)> = PER_ITERATION
                    .iter()
                    .filter_map(|(name, _, _)| {
                        let entry = v.get(*name)?;
                        Some((
                            name.to_string(),
                            entry.get(0)?.as_f64()?,
                            entry.get(1)?.as_f64()?,
                        ))
                    })
                    .collect();
                let products: Vec<f64> = PRODUCTS
                    .iter()
                    .filter_map(|&p| v.get(product_name(p))?.as_f64())
                    .collect();
                if list.len() == PER_ITERATION.len() && products.len() == PRODUCTS.len() {
                    push(&torch_runner("cpu"), &list, &products, &[]);
                } else {
                    eprintln!("layers: w2_layers.py did not time every layer");
                }
            }
            Err(reason) => eprintln!("layers: no PyTorch column: {reason}"),
        }
    }
    Ok(rows)
}
