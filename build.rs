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
