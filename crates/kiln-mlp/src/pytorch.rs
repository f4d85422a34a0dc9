//! The MLP's PyTorch twin (feature `pytorch`): `Mlp` in the repository's
//! `python/kiln_torch.py`, an `nn.Module` with the same names (`hidden.N.weight`,
//! `hidden.N.bias`, `output.weight`, `output.bias`; weights `[out, in]` as `nn.Linear`'s).

use kiln_core::PytorchWeights;

use crate::Mlp;

impl PytorchWeights for Mlp {
    const NAME: &'static str = "MLP";

    /// kiln's own names need nothing. A `state_dict` of an `nn.Sequential` of linear layers
    /// and parameter-free ones (activations, dropout) — at the top (`0.weight`, `2.weight`,
    /// ...) or under one attribute, as CleanRL's `QNetwork.network` — maps its linear
    /// layers, in index order, to `hidden.0`, `hidden.1`, ... and the last to `output`.
    fn rename(&self, keys: &[String]) -> Vec<(String, String)> {
        sequential_names(keys).unwrap_or_default()
    }
}

/// The renames of [`Mlp::rename`] for a `Sequential`'s keys, or `None` when `keys` are not
/// all `[PREFIX.]INDEX.(weight|bias)` with one prefix.
fn sequential_names(keys: &[String]) -> Option<Vec<(String, String)>> {
    let mut prefix: Option<&str> = None;
    let mut parsed = Vec::with_capacity(keys.len());
    for key in keys {
        let (layer, param) = key.rsplit_once('.')?;
        if param != "weight" && param != "bias" {
            return None;
        }
        let (outer, index) = match layer.rsplit_once('.') {
            Some((outer, index)) => (outer, index),
            None => ("", layer),
        };
        let index: usize = index.parse().ok()?;
        // kiln's own `hidden.N` (an incomplete file is the strict check's to report).
        if outer == "hidden" {
            return None;
        }
        if *prefix.get_or_insert(outer) != outer {
            return None;
        }
        parsed.push((key, index, param));
    }
    let mut indices: Vec<usize> = parsed.iter().map(|&(_, i, _)| i).collect();
    indices.sort_unstable();
    indices.dedup();
    let last = *indices.last()?;
    Some(
        parsed
            .into_iter()
            .map(|(key, index, param)| {
                let to = if index == last {
                    format!("output.{param}")
                } else {
                    let position = indices.iter().position(|&i| i == index).unwrap_or(0);
                    format!("hidden.{position}.{param}")
                };
                (key.clone(), to)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_sequentials_linear_layers_become_hidden_and_output() {
        let renames = sequential_names(&keys(&[
            "network.0.weight",
            "network.0.bias",
            "network.2.weight",
            "network.2.bias",
            "network.4.weight",
            "network.4.bias",
        ]))
        .unwrap();
        let to: Vec<&str> = renames.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            to,
            [
                "hidden.0.weight",
                "hidden.0.bias",
                "hidden.1.weight",
                "hidden.1.bias",
                "output.weight",
                "output.bias"
            ]
        );
        let top = sequential_names(&keys(&["0.weight", "3.weight"])).unwrap();
        assert_eq!(top[1].1, "output.weight");
    }

    #[test]
    fn other_names_are_left_alone() {
        assert!(sequential_names(&keys(&["hidden.0.weight", "output.weight"])).is_none());
        assert!(sequential_names(&keys(&["a.0.weight", "b.1.weight"])).is_none());
        assert!(sequential_names(&keys(&["0.running_mean"])).is_none());
    }
}
