//! Seeded, shuffled minibatches of a data set held as one tensor on the
//! training device (the whole MNIST training set is 188 MB as f32; the
//! embedded subset 28 MB), so an epoch costs one index-select per batch and
//! no host-to-device copies.
use crate::error::{Error, Result};
use crate::rng::permutation;
use tch::{Device, Kind, Tensor};

/// Minibatches over the rows of a tensor, reshuffled every epoch from
/// `(seed, epoch)`.
#[derive(Debug)]
pub struct Batcher {
    data: Tensor,
    batch_size: usize,
    drop_last: bool,
    seed: u64,
}

impl Batcher {
    /// `data` is `[n, ...]`; batches are `[batch_size, ...]` (the last one smaller unless `drop_last`).
    pub fn new(data: Tensor, batch_size: usize, drop_last: bool, seed: u64) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        let n = data.size().first().copied().unwrap_or(0) as usize;
        if n == 0 {
            return Err(Error::Shape("no examples to batch: the data set is empty".into()));
        }
        if drop_last && n < batch_size {
            return Err(Error::config(
                "batch_size",
                format!("{batch_size} is larger than the {n} examples and drop_last is on: no batch would be made"),
            ));
        }
        Ok(Self { data, batch_size, drop_last, seed })
    }

    pub fn len_examples(&self) -> usize {
        self.data.size()[0] as usize
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        let n = self.len_examples();
        if self.drop_last { n / self.batch_size } else { n.div_ceil(self.batch_size) }
    }

    pub fn device(&self) -> Device {
        self.data.device()
    }

    /// The batches of epoch `epoch` (0-based), in a seeded random order.
    pub fn epoch(&self, epoch: usize) -> impl Iterator<Item = Tensor> + '_ {
        let n = self.len_examples();
        let epoch_seed = self.seed ^ (epoch as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
        let perm = Tensor::from_slice(&permutation(n, epoch_seed)).to_device(self.device());
        let bs = self.batch_size as i64;
        (0..self.batches_per_epoch() as i64).map(move |b| {
            let len = bs.min(n as i64 - b * bs);
            self.data.index_select(0, &perm.narrow(0, b * bs, len))
        })
    }
}

/// All values of a tensor, flattened, as a plain `Vec<f32>` on the host.
pub fn to_vec_f32(t: &Tensor) -> Result<Vec<f32>> {
    Ok(Vec::<f32>::try_from(t.to_kind(Kind::Float).to_device(Device::Cpu).contiguous().view([-1]))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_every_row_once_per_epoch_and_reshuffle() {
        let data = Tensor::arange(10, (Kind::Float, Device::Cpu)).view([10, 1]);
        let b = Batcher::new(data, 4, false, 3).unwrap();
        assert_eq!(b.batches_per_epoch(), 3);
        let epoch0: Vec<Tensor> = b.epoch(0).collect();
        assert_eq!(epoch0.iter().map(|t| t.size()[0]).collect::<Vec<_>>(), vec![4, 4, 2]);
        let mut seen: Vec<f32> = epoch0.iter().flat_map(|t| to_vec_f32(t).unwrap()).collect();
        let order0 = seen.clone();
        seen.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(seen, (0..10).map(|i| i as f32).collect::<Vec<_>>());
        let order1: Vec<f32> = b.epoch(1).flat_map(|t| to_vec_f32(&t).unwrap()).collect();
        assert_ne!(order0, order1, "each epoch reshuffles");
        let again: Vec<f32> = b.epoch(0).flat_map(|t| to_vec_f32(&t).unwrap()).collect();
        assert_eq!(order0, again, "same seed and epoch, same order");
        let dl = Batcher::new(Tensor::zeros([10, 1], (Kind::Float, Device::Cpu)), 4, true, 3).unwrap();
        assert_eq!(dl.epoch(0).count(), 2);
    }

    #[test]
    fn bad_batch_settings_are_errors() {
        let data = Tensor::zeros([3, 2], (Kind::Float, Device::Cpu));
        assert!(Batcher::new(data.shallow_clone(), 0, false, 0).unwrap_err().to_string().contains("batch_size"));
        assert!(Batcher::new(data, 4, true, 0).unwrap_err().to_string().contains("larger than the 3"));
    }
}
