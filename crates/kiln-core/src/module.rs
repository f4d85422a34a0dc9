//! Operations on any Burn module (feature `module`).

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// Polyak averaging: `target` moved a fraction `tau` of the way towards `source`,
/// `τ·source + (1 − τ)·target`, float by float — every parameter and every running state
/// (a batch norm's running mean and variance) — for any module. `source` may be on any
/// device (autodiff or not); the result lives where `target` does, without autodiff. Both
/// must be the same module type with the same sizes, as a copy of one network and the
/// network are: the floats are matched in visiting order.
///
/// The one blend behind the DQN's soft target update (`τ` per step) and the DCGAN's
/// generator average (`τ = 1 − decay`).
///
/// ```
/// use burn::module::Module;
/// use burn::nn::LinearConfig;
/// use burn::tensor::Device;
/// use kiln_core::module::soft_update;
///
/// let device = Device::flex();
/// let source = LinearConfig::new(2, 1).init(&device);
/// let target = LinearConfig::new(2, 1).init(&device);
/// let blended = soft_update(target.clone(), &source, 0.25);
/// let w = |l: &burn::nn::Linear| l.weight.val().into_data().to_vec::<f32>().unwrap();
/// for ((b, s), t) in w(&blended).iter().zip(w(&source)).zip(w(&target)) {
///     assert!((b - (0.25 * s + 0.75 * t)).abs() < 1e-6);
/// }
/// ```
pub fn soft_update<M: Module>(target: M, source: &M, tau: f64) -> M {
    let mut collect = Collect(Vec::new());
    source.valid().visit(&mut collect);
    let device = target.devices().first().cloned();
    let source = collect.0.into_iter().map(|t| match &device {
        Some(d) => t.to_device(d),
        None => t,
    });
    target.map(&mut Blend {
        source: source.collect::<Vec<_>>().into_iter(),
        tau,
    })
}

/// Every float of a module, flattened, in visiting order.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.val().flatten(0, D - 1));
    }
}

/// Blends each float with the next collected one.
struct Blend {
    source: std::vec::IntoIter<Tensor<1>>,
    tau: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(source) = self.source.next() else {
            return param;
        };
        let tau = self.tau;
        param.map(|t| {
            let dims = t.dims();
            t * (1.0 - tau) + source.reshape(dims) * tau
        })
    }
}
