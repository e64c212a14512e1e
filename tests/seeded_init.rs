//! A network's initial weights come from its seed alone, whatever other
//! threads of the process initialise at the same time (libtorch's random
//! generator is global: `rng::seeded_section` serialises the crate's
//! seed-then-draw sections). In a binary of its own, so that no other test's
//! draws run beside it.
use gan_tutorial::attack::Model;
use gan_tutorial::classifier::{images_and_labels, train_classifier_on, ClassifierConfig};
use gan_tutorial::data::embedded;
use gan_tutorial::{GanConfig, Variant};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tch::{Device, Tensor};

#[test]
fn a_classifier_trained_beside_gan_initialisations_is_the_one_trained_alone() {
    let data = embedded().unwrap();
    let (x, _) = images_and_labels(&data.test.take(64), Device::Cpu).unwrap();
    let config = ClassifierConfig::default().with_device("cpu").with_epochs(1).with_max_train(256).with_seed(9);
    let logits = || -> Tensor {
        let model = train_classifier_on(&config, &data).unwrap().model;
        tch::no_grad(|| model.logits(&x))
    };
    let alone = logits();

    // Another thread builds GANs (seed, then draw their weights) without pause.
    let stop = Arc::new(AtomicBool::new(false));
    let builds = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let _gan = GanConfig::variant(Variant::Vanilla).with_seed(n).build_gan(Device::Cpu);
                n += 1;
            }
            n
        })
    };
    let beside: Vec<Tensor> = (0..4).map(|_| logits()).collect();
    stop.store(true, Ordering::Relaxed);
    let built = builds.join().unwrap();
    assert!(built > 0, "the other thread built no GAN: the check proved nothing");
    for (i, l) in beside.iter().enumerate() {
        let diff = (l - &alone).abs().max().double_value(&[]);
        assert_eq!(diff, 0.0, "training {i} beside {built} GAN initialisations: logits differ by {diff} from the one trained alone");
    }
}
