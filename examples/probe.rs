use gan_tutorial::gan::*;
fn main() {
    for (lg, ld, nd) in [(1e-4, 2e-3, 1), (1e-5, 5e-3, 1), (1e-5, 5e-3, 5), (1e-6, 1e-2, 5)] {
        let c = GanConfig::variant(Variant::Vanilla).with_steps(1500).with_print_every(0).with_device("cpu").with_lrs(lg, ld).with_n_dis(nd);
        let r = train_gan(&c).unwrap();
        let (d, g, dx, dgz) = r.final_means(100);
        println!("lr_g {lg} lr_d {ld} n_dis {nd}: d {d:.5} g {g:.2} D(x) {dx:.4} D(G(z)) {dgz:.5} warnings {:?}", r.warnings.iter().map(|w| (w.kind, w.first_step, w.count)).collect::<Vec<_>>());
    }
}
