//! What the classifier trains on: labelled feature vectors from any source.

/// One example: a feature vector and its class index (`0..classes`).
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    /// The features; their count is the network's `input_size`.
    pub features: Vec<f32>,
    /// The class, below the network's `output_size`.
    pub class: usize,
}

impl Labelled {
    /// An example of `class` with `features`.
    pub fn new(features: Vec<f32>, class: usize) -> Self {
        Self { features, class }
    }
}

/// A data source's own error, kept as the source of [`MlpError::DataSource`](crate::MlpError::DataSource).
pub type DataSourceError = Box<dyn std::error::Error + Send + Sync>;

/// Labelled examples the classifier can train on or be evaluated on: in memory (`[Labelled]`,
/// `Vec<Labelled>`), any Burn `Dataset` mapped by [`from_dataset`](crate::from_dataset)
/// (feature `dataset`), or a source of your own.
pub trait ClassificationData {
    /// Number of examples.
    fn len(&self) -> usize;

    /// Example `index` (`0..len()`); `None` only out of range.
    fn get(&self, index: usize) -> Option<Labelled>;

    /// Example `index`, or why not: `Err(None)` when there is none, `Err(Some(e))` with the
    /// source's own error when reading it failed. Training and evaluation read examples
    /// through this, so a source's error reaches the caller as
    /// [`MlpError::DataSource`](crate::MlpError::DataSource) instead of being lost. The
    /// default calls [`get`](Self::get); a source that can fail overrides it.
    ///
    /// # Errors
    /// As above.
    fn try_get(&self, index: usize) -> Result<Labelled, Option<DataSourceError>> {
        self.get(index).ok_or(None)
    }

    /// Whether there is no example.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ClassificationData for [Labelled] {
    fn len(&self) -> usize {
        <[Labelled]>::len(self)
    }

    fn get(&self, index: usize) -> Option<Labelled> {
        <[Labelled]>::get(self, index).cloned()
    }
}

impl ClassificationData for Vec<Labelled> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn get(&self, index: usize) -> Option<Labelled> {
        self.as_slice().get(index).cloned()
    }
}

/// A Burn `Dataset` whose items `map` turns into [`Labelled`] examples.
#[cfg(feature = "dataset")]
pub struct MappedDataset<I, D, F> {
    dataset: D,
    map: F,
    item: std::marker::PhantomData<fn() -> I>,
}

/// Any Burn `Dataset` as training data: `map` turns each item into its features and class.
///
/// ```
/// use burn::data::dataset::InMemDataset;
/// use kiln_mlp::{ClassificationData, Labelled, from_dataset};
///
/// let rows = InMemDataset::new(vec![(0.5f32, true), (-1.0, false)]);
/// let data = from_dataset(rows, |(x, positive): (f32, bool)| {
///     Labelled::new(vec![x, x * x], usize::from(positive))
/// });
/// assert_eq!(data.get(0), Some(Labelled::new(vec![0.5, 0.25], 1)));
/// ```
#[cfg(feature = "dataset")]
pub fn from_dataset<I, D, F>(dataset: D, map: F) -> MappedDataset<I, D, F>
where
    D: burn::data::dataset::Dataset<I>,
    F: Fn(I) -> Labelled,
{
    MappedDataset {
        dataset,
        map,
        item: std::marker::PhantomData,
    }
}

#[cfg(feature = "dataset")]
impl<I, D, F> ClassificationData for MappedDataset<I, D, F>
where
    D: burn::data::dataset::Dataset<I>,
    F: Fn(I) -> Labelled,
{
    fn len(&self) -> usize {
        self.dataset.len()
    }

    fn get(&self, index: usize) -> Option<Labelled> {
        self.try_get(index).ok()
    }

    // Burn's `Dataset::get` panics out of range, so the range is checked here first.
    fn try_get(&self, index: usize) -> Result<Labelled, Option<DataSourceError>> {
        if index >= self.dataset.len() {
            return Err(None);
        }
        match self.dataset.get(index) {
            Ok(item) => Ok((self.map)(item)),
            Err(e) => Err(Some(Box::new(e))),
        }
    }
}
