//! The `--as-needed` trap: the built programs must carry libtorch_cuda, so
//! that the same build uses a GPU where one is present. This machine may
//! have no GPU, so the proof is the link, plus CUDA queries answering
//! without error.
use std::path::Path;
use std::process::Command;

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd} (install binutils / libc-bin): {e}"));
    assert!(out.status.success(), "{cmd} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn check_links_cuda(binary: &Path) {
    let b = binary.to_str().unwrap();
    let dynamic = run("readelf", &["-d", b]);
    assert!(dynamic.contains("[libtorch.so]"), "libtorch.so is not a NEEDED entry of {b}:\n{dynamic}");
    assert!(dynamic.contains("RUNPATH") || dynamic.contains("RPATH"), "no rpath in {b}");
    // Resolved without LD_LIBRARY_PATH: the rpath alone finds libtorch, and
    // libtorch_cuda comes in through libtorch.so's own NEEDED list.
    let libs = run("ldd", &[b]);
    let line = libs
        .lines()
        .find(|l| l.trim_start().starts_with("libtorch_cuda.so"))
        .unwrap_or_else(|| panic!("libtorch_cuda.so is not loaded by {b}:\n{libs}"));
    assert!(line.contains("=> /"), "libtorch_cuda.so is not found: {line}");
    assert!(!libs.contains("not found"), "unresolved libraries:\n{libs}");
}

#[test]
fn the_cli_binary_links_libtorch_cuda() {
    check_links_cuda(Path::new(env!("CARGO_BIN_EXE_gan-tutorial")));
}

#[test]
fn this_test_binary_links_libtorch_cuda() {
    check_links_cuda(&std::env::current_exe().unwrap());
}

#[test]
fn cuda_queries_answer_and_the_device_choice_follows_them() {
    let available = tch::Cuda::is_available();
    let count = tch::Cuda::device_count();
    assert_eq!(available, count > 0);
    let out = Command::new(env!("CARGO_BIN_EXE_gan-tutorial")).arg("info").env_remove("LD_LIBRARY_PATH").output().unwrap();
    assert!(out.status.success());
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["cuda_available"], available);
    let lib = info["built_against"].as_str().expect("build.rs records the libtorch lib dir");
    assert!(Path::new(lib).join("libtorch_cuda.so").exists(), "{lib} has no libtorch_cuda.so: a CPU-only libtorch?");
    // Asking for CUDA: works on a GPU machine, a clear error elsewhere.
    let out = Command::new(env!("CARGO_BIN_EXE_gan-tutorial"))
        .args(["train", "vanilla", "--steps", "2", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .env("GAN_TUTORIAL_DEVICE", "cuda")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if available {
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("on cuda:0"), "{stderr}");
    } else {
        assert!(!out.status.success());
        assert!(stderr.contains("GAN_TUTORIAL_DEVICE") && stderr.contains("no CUDA device"), "{stderr}");
    }
}
