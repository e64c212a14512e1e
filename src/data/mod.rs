//! Data: the MNIST IDX format, the embedded subset, downloads of the full
//! sets, and seeded minibatches.
pub mod batches;
pub mod fetch;
pub mod idx;
pub mod mnist;

pub use batches::{permutation, Batcher, SplitMix64};
pub use fetch::{fetch_dataset, RemoteDataset};
pub use mnist::{debian_fashion_mnist, embedded, load_dir, DataSource, ImageSet, MnistData};
