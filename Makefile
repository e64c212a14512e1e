# The two commands of the README:
#   make demo   sets up, then trains the tutorial's vanilla GAN on the embedded MNIST digits
#   make test   sets up, then runs every test
# Everything else is optional.
.PHONY: setup demo test bench clean-runs

CARGO ?= cargo
DEMO_OUT ?= runs/demo
DEMO_EPOCHS ?= 100

setup:
	./scripts/setup.sh

demo: setup
	./target/release/gan-tutorial train vanilla --epochs $(DEMO_EPOCHS) --out $(DEMO_OUT)
	@echo "wrote $(DEMO_OUT)/losses.png, $(DEMO_OUT)/samples.png, config.json, metrics.jsonl, checkpoint.safetensors"

test: setup
	$(CARGO) test --release --locked

bench: setup
	$(CARGO) bench --locked --bench vanilla_step -- --epochs 10 --keep-graphs

clean-runs:
	rm -rf runs
