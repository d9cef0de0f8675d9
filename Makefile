# quell: build, unit tests, real-kernel tests in the lab VM, demo.
#   make build                      static binaries into bin/
#   make unit                       go test -race ./...
#   make test                       unit, then the real-kernel tests in the lab (installs prerequisites)
#   make lab CMD='...' [MODE=systemd]   run one command in a lab guest, exit with its status
#   make demo                       boot the lab and show the guest's cgroup v2 controllers and tree
#   make prereqs | bench | clean
export PATH := /usr/local/go/bin:$(PATH)

GO      ?= go
BIN     := bin
LAB     := $(BIN)/lab
MODE    ?= fast
CMD     ?= cat /sys/fs/cgroup/cgroup.controllers
LABARGS ?=
STATIC  := CGO_ENABLED=0
export CMD MODE

# Build to a temporary name and rename, so a binary in use (a running lab)
# is replaced rather than written over.
define gobuild
	$(STATIC) $(GO) build -o $(1).tmp $(2) && mv -f $(1).tmp $(1)
endef

.PHONY: all build unit test lab demo bench prereqs clean

all: build

build:
	@mkdir -p $(BIN)
	$(call gobuild,$(LAB),./test/lab)
	@set -e; for c in quelld quell; do \
		if ls cmd/$$c/*.go >/dev/null 2>&1; then \
			echo "$(STATIC) $(GO) build -o $(BIN)/$$c ./cmd/$$c"; \
			$(STATIC) $(GO) build -o $(BIN)/$$c.tmp ./cmd/$$c && mv -f $(BIN)/$$c.tmp $(BIN)/$$c; \
		fi; \
	done
	$(STATIC) $(GO) test -c -tags lab -o $(BIN)/kernel.test.tmp ./test/kernel && mv -f $(BIN)/kernel.test.tmp $(BIN)/kernel.test
	@set -e; if ls test/systemd/*.go >/dev/null 2>&1; then \
		echo "$(STATIC) $(GO) test -c -tags lab -o $(BIN)/systemd.test ./test/systemd"; \
		$(STATIC) $(GO) test -c -tags lab -o $(BIN)/systemd.test.tmp ./test/systemd && mv -f $(BIN)/systemd.test.tmp $(BIN)/systemd.test; \
	fi

$(LAB): FORCE
	@mkdir -p $(BIN)
	$(call gobuild,$(LAB),./test/lab)

.PHONY: FORCE
FORCE:

prereqs: $(LAB)
	$(LAB) prereqs

unit:
	$(GO) test -race ./...

test: prereqs build unit
	$(LAB) test $(LABARGS)

lab: prereqs build
	$(LAB) run --mode "$(MODE)" $(LABARGS) -- "$$CMD"

demo: prereqs build
	@$(LAB) run $(LABARGS) -- 'set -e; \
		echo "== kernel: $$(uname -r), cgroup v2 at /sys/fs/cgroup"; \
		echo "== available controllers (cgroup.controllers)"; cat /sys/fs/cgroup/cgroup.controllers; \
		echo "== enabled for children (cgroup.subtree_control)"; cat /sys/fs/cgroup/cgroup.subtree_control; \
		mkdir -p /sys/fs/cgroup/demo.slice/tenant-acme /sys/fs/cgroup/demo.slice/tenant-other; \
		echo "+cpu +memory +io +pids" > /sys/fs/cgroup/demo.slice/cgroup.subtree_control; \
		echo "50000 100000" > /sys/fs/cgroup/demo.slice/tenant-acme/cpu.max; \
		echo 256M > /sys/fs/cgroup/demo.slice/tenant-acme/memory.max; \
		echo "== cgroup tree (cpu.max, memory.max, pids.max)"; \
		cd /sys/fs/cgroup; for d in $$(find . -mindepth 1 -type d | sort); do \
			printf "%-40s %-14s %-10s %s\n" "$$d" "$$(cat $$d/cpu.max 2>/dev/null)" "$$(cat $$d/memory.max 2>/dev/null)" "$$(cat $$d/pids.max 2>/dev/null)"; done; \
		echo "== scratch disks and swap"; mount | grep /mnt/; cat /proc/swaps'

bench: prereqs build
	$(call gobuild,$(BIN)/quell-bench,./cmd/quell-bench)
	@rm -rf benchmarks/results/.new; st=0; \
	$(BIN)/quell-bench lab --lab $(LAB) --bin $(BIN) --out benchmarks/results/.new $(BENCHARGS) || st=$$?; \
	if [ -f benchmarks/results/.new/report.md ]; then \
		find benchmarks/results -mindepth 1 -maxdepth 1 ! -name .new -exec rm -rf {} +; \
		mv benchmarks/results/.new benchmarks/results/$$(date +%F); \
		echo "bench: report in benchmarks/results/$$(date +%F)/report.md"; fi; \
	exit $$st

clean:
	rm -rf $(BIN)
