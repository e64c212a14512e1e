//! Data: the MNIST IDX format, the embedded subset, CIFAR-10's binary
//! batches, downloads of the full sets, seeded minibatches, and images as
//! plain numbers ([`ImageBatch`]).
pub mod batches;
pub mod cifar;
pub mod fetch;
pub mod idx;
pub mod images;
pub mod mnist;

pub use batches::Batcher;
/// Moved to [`crate::rng`]; re-exported so that `data::permutation` still works.
pub use crate::rng::{permutation, SplitMix64};
pub use images::{ImageBatch, ToImages};
pub use fetch::{fetch_dataset, RemoteDataset};
pub use mnist::{debian_fashion_mnist, embedded, find_full_mnist, load_dir, DataSource, ImageSet, MnistData, FULL_MNIST_DIR};
