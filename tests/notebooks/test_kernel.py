"""The gan_tutorial kernel itself: cells find libtorch with its CUDA library,
and two kernels running at once each get their own build directory."""
import threading
from pathlib import Path

from gan_kernel import Kernel, setup_cell

TMPDIR_CELL = 'println!("{}", std::env::var("EVCXR_TMPDIR").unwrap());'
TENSOR_CELL = 'println!("{}", gan_tutorial::prelude::Tensor::from_slice(&[1.0f32, 2.0, 3.5]).sum(gan_tutorial::tch::Kind::Float).double_value(&[]));'


def test_cells_load_libtorch_cuda_and_answer_cuda_queries():
    # The --as-needed trap applies to cells too: without the setup cell's link
    # flags libtorch_cuda.so is dropped and CUDA never registers, even on a GPU.
    with Kernel() as k:
        k.run(setup_cell())
        _, maps, _ = k.run('print!("{}", std::fs::read_to_string("/proc/self/maps").unwrap());')
        assert "libtorch_cuda.so" in maps, "the cell's process did not load libtorch_cuda.so"
        _, out, _ = k.run('println!("{} {}", gan_tutorial::tch::Cuda::is_available(), gan_tutorial::device_name(gan_tutorial::device().unwrap()));')
        available, device = out.split()
        assert available in ("true", "false")
        assert device == ("cuda:0" if available == "true" else "cpu")


def test_two_kernels_at_once_have_their_own_build_dirs():
    results, errors = {}, []

    def session(name):
        try:
            with Kernel() as k:
                k.run(setup_cell())
                _, tmpdir, _ = k.run(TMPDIR_CELL)
                _, total, _ = k.run(TENSOR_CELL)
                results[name] = (tmpdir.strip(), total.strip())
                ready.wait(timeout=1800)  # stay open until both have run
        except Exception as e:  # reported below, with the kernel's message
            errors.append(f"{name}: {e}")
            ready.abort()

    ready = threading.Barrier(2)
    threads = [threading.Thread(target=session, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    (dir_a, sum_a), (dir_b, sum_b) = results["a"], results["b"]
    assert sum_a == sum_b == "6.5"
    assert dir_a != dir_b, "two kernels shared one evcxr build directory"
    assert Path(dir_a).parent == Path(dir_b).parent
