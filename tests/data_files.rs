//! The committed data files are the ones data/README.md documents.
use sha2::{Digest, Sha256};
use std::path::Path;

#[test]
fn committed_mnist_subset_matches_the_documented_checksums() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("data/README.md")).unwrap();
    let mut checked = 0;
    for line in readme.lines() {
        // | `train-images-idx3-ubyte.gz` | `6a11...` |
        let cells: Vec<&str> = line.split('|').map(|c| c.trim().trim_matches('`')).collect();
        if cells.len() == 4 && cells[1].ends_with("-ubyte.gz") && cells[2].len() == 64 {
            let bytes = std::fs::read(root.join("data/mnist-10k").join(cells[1])).unwrap();
            let got: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(got, cells[2], "{} does not match data/README.md", cells[1]);
            checked += 1;
        }
    }
    assert_eq!(checked, 4, "data/README.md should list four checksums");
}
