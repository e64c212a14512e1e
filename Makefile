# The two commands of the README:
#   make demo   sets up, then trains the tutorial's vanilla GAN on the embedded MNIST digits
#   make test   sets up, then runs every test
# Everything else is optional:
#   make lab       opens the notebooks in JupyterLab with the project's kernel
#   make lecture   renders every notebook, executed, to build/lecture/ (HTML + reveal.js slides)
#   make bench     the training-step benchmark; make bench-kernel times the notebook kernel
#   make bench-attacks   FGSM and PGD-40 images/s, Rust against PyTorch
#   make bench-memory / bench-profile   peak memory with and without the CUDA libraries; where the step's time goes
#   make gpu-check  on a machine with a CUDA device: trains on it, runs notebook 01 on it,
#                   compares with the CPU and times DCGAN against PyTorch (else one line, exit 0)
.PHONY: setup setup-kernel demo gpu-check soak bench-adv-d test test-rust test-notebooks lab lecture bench bench-attacks bench-kernel clean-runs bench-memory bench-profile

CARGO ?= cargo
DEMO_OUT ?= runs/demo
DEMO_EPOCHS ?= 100

# setup: the venv with libtorch and the CLI (all `make demo` needs);
# setup-kernel: also the notebook kernel and the lecture's tools (test, lab, lecture).
setup:
	./scripts/setup.sh

setup-kernel:
	./scripts/setup.sh kernel

demo: setup
	./target/release/gan-tutorial train vanilla --epochs $(DEMO_EPOCHS) --out $(DEMO_OUT)
	@echo "wrote $(DEMO_OUT)/losses.png, $(DEMO_OUT)/samples.png, config.json, metrics.jsonl, checkpoint.safetensors"

# scripts/test.sh: set-up, the Rust tests (with evcxr_jupyter's first build
# beside them), the kernel, then the notebooks in quick mode
# (GAN_TUTORIAL_NOTEBOOK_MODE, read by RunMode::from_env) and the lecture.
test:
	./scripts/test.sh

test-rust: setup
	OMP_WAIT_POLICY=passive $(CARGO) test --release --locked

test-notebooks: setup-kernel
	GAN_TUTORIAL_NOTEBOOK_MODE=quick .venv/bin/pytest

# Jupyter refuses to run as root unless told; containers often are root.
lab: setup-kernel
	.venv/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

lecture: setup-kernel
	./scripts/render_lecture.sh

# 200 random kill -9 / Ctrl-C points across two variants' training, checkpoints and resumes (minutes).
soak: setup
	$(CARGO) test --release --locked --test soak -- --ignored --nocapture

bench: setup
	$(CARGO) bench --locked --bench vanilla_step -- --epochs 10 --keep-graphs

bench-adv-d: setup
	$(CARGO) bench --locked --bench adv_d_cost -- --steps 60 --rounds 3

bench-attacks: setup
	$(CARGO) bench --locked --bench attack_throughput -- --rounds 3

bench-kernel: setup-kernel
	.venv/bin/python benches/kernel_timing.py

clean-runs:
	rm -rf runs

# GPU_CHECK_ARGS=--device cpu runs the same checks on the CPU (a self-test of the script).
gpu-check: setup
	.venv/bin/python scripts/gpu_check.py $(GPU_CHECK_ARGS)

# Peak RSS of the CLI's vanilla training as built and with libtorch's CPU libraries only (issue 17).
bench-memory: setup
	./benches/memory.sh --epochs 1 --rounds 3

# Where the vanilla step's time goes (perf; PROFILE_TOOL=callgrind for instruction counts: slow, 10+ minutes).
bench-profile: setup
	./benches/profile_step.sh --steps $(if $(filter callgrind,$(PROFILE_TOOL)),30,2000) --tool $(or $(PROFILE_TOOL),perf)
