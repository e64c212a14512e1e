//! Makes every binary, test, example and bench of this crate load libtorch's
//! CUDA library when the libtorch it was built against has one.
//!
//! rustc links with `--as-needed`. Nothing in tch uses a symbol of
//! `libtorch_cuda.so` directly, so the linker drops it, CUDA never registers
//! and `Cuda::is_available()` is false even on a GPU machine (tch-rs issues
//! #907, #964, #980). PyPI's `libtorch.so` is a stub whose DT_NEEDED lists
//! both `libtorch_cpu.so` and `libtorch_cuda.so`: linking it with
//! `--no-as-needed` keeps it, and with it the CUDA library. The rpath lets the
//! built programs find libtorch without LD_LIBRARY_PATH.
//!
//! `cargo:rustc-link-arg` reaches this crate's own targets only; notebooks
//! (evcxr) need the same flags through their kernel (see kernel/).
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    source_fingerprint();
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Some(lib) = std::env::var_os("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=torch-sys did not report its libtorch lib dir; CUDA may not be linked");
        return;
    };
    let lib = PathBuf::from(lib);
    let lib = lib.canonicalize().unwrap_or(lib);
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-L{}", lib.display());
        println!("cargo:rustc-link-arg=-ltorch");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
    println!("cargo:rustc-env=GAN_TUTORIAL_LIBTORCH_LIB={}", lib.display());
}

/// `GAN_TUTORIAL_SOURCE_FINGERPRINT`: FNV-1a over every file under `src/`
/// (paths and contents, in sorted order), so the GAN cache (`gan/cache.rs`)
/// never serves a GAN that other code trained. Cargo reruns this whenever a
/// file under `src/` changes.
fn source_fingerprint() {
    println!("cargo:rerun-if-changed=src");
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(std::path::Path::new("src"), &mut files);
    files.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for f in &files {
        feed(f.to_string_lossy().as_bytes());
        feed(&std::fs::read(f).unwrap_or_default());
    }
    println!("cargo:rustc-env=GAN_TUTORIAL_SOURCE_FINGERPRINT={h:016x}");
}
