# quell: build, unit tests, real-kernel tests in the lab VM, demo.
#   make build                      static binaries for the lab into bin/ (quelld with -tags lab)
#   make release                    static release quelld and quell into bin/release/ (no test hook)
#   make check                      gofmt, go vet (with and without -tags lab), go mod tidy: fails on any finding
#   make unit                       go test -race ./... (and quelld's lab-tagged test hook)
#   make test                       check, unit, rules, then the real-kernel tests in the lab (installs prerequisites)
#   make rules                      promtool check + test of deploy/prometheus (installs Debian's prometheus)
#   make lab CMD='...' [MODE=systemd]   run one command in a lab guest, exit with its status
#   make demo                       quelld on sample tenants (real dockerd, podman) in the lab, a noisy neighbour caught
#   make deb                        bin/deb/quell_<version>_amd64.deb (nfpm, a Go tool dependency)
#   make image                      bin/image/quell.tar: the OCI image (static quelld and quell on an empty base) for docker/podman load (cmd/quell-image)
#   make docs                       man pages and bash/zsh/fish completions into bin/docs (cmd/quell-docs)
#   make install | uninstall        install the release quelld, quell and the unit on this host (root)
#   make prereqs | bench | clean
export PATH := /usr/local/go/bin:$(PATH)

GO      ?= go
BIN     := bin
LAB     := $(BIN)/lab
MODE    ?= fast
CMD     ?= cat /sys/fs/cgroup/cgroup.controllers
LABARGS ?=
STATIC  := CGO_ENABLED=0
# The lab runs quelld built with the lab tag, which adds its test hook
# (cmd/quelld/testhook.go, QUELL_TEST_HANG_AFTER); install and release
# build without it.
LABTAGS := -tags lab
export CMD MODE

# Version stamping: `quell version` and `quelld --version` print these
# (internal/version). DEBVERSION is the same for Debian: v1.2.0-3-gabc1234
# becomes 1.2.0+3.gabc1234; an untagged tree 0~git.<hash>.
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT     ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS    := -X github.com/quell-dev/quell/internal/version.Version=$(VERSION) -X github.com/quell-dev/quell/internal/version.Commit=$(COMMIT)
DEBVERSION := $(shell echo '$(VERSION)' | sed -E -e 's/^v//' -e '/^[0-9]+\./!s/^/0~git./' -e 's/-([0-9]+)-g/+\1.g/' -e 's/-/./g')
DOCDATE    := $(shell git log -1 --format=%cs 2>/dev/null || date -u +%F)

# Build to a temporary name and rename, so a binary in use (a running lab)
# is replaced rather than written over.
define gobuild
	$(STATIC) $(GO) build -ldflags '$(LDFLAGS)' -o $(1).tmp $(2) && mv -f $(1).tmp $(1)
endef

# unitfor writes quelld.service with ExecStart at $(1)/bin/quelld into $(2).
define unitfor
	@mkdir -p $(dir $(2))
	sed 's|^ExecStart=/usr/local/bin/quelld$$|ExecStart=$(1)/bin/quelld|' systemd/quelld.service > $(2).tmp
	@grep -qx 'ExecStart=$(1)/bin/quelld' $(2).tmp || { echo "unitfor: systemd/quelld.service has no line ExecStart=/usr/local/bin/quelld to rewrite"; exit 1; }
	mv -f $(2).tmp $(2)
endef

.PHONY: all build release docs deb image check unit test lab demo bench prereqs clean install uninstall

all: build

build:
	@mkdir -p $(BIN)
	$(call gobuild,$(LAB),./test/lab)
	@set -e; for c in quelld quell; do \
		if ls cmd/$$c/*.go >/dev/null 2>&1; then \
			echo "$(STATIC) $(GO) build $(LABTAGS) -ldflags '$(LDFLAGS)' -o $(BIN)/$$c ./cmd/$$c"; \
			$(STATIC) $(GO) build $(LABTAGS) -ldflags '$(LDFLAGS)' -o $(BIN)/$$c.tmp ./cmd/$$c && mv -f $(BIN)/$$c.tmp $(BIN)/$$c; \
		fi; \
	done
	$(STATIC) $(GO) test -c -tags lab -o $(BIN)/kernel.test.tmp ./test/kernel && mv -f $(BIN)/kernel.test.tmp $(BIN)/kernel.test
	$(STATIC) $(GO) test -c -tags lab -o $(BIN)/demo.test.tmp ./test/demo && mv -f $(BIN)/demo.test.tmp $(BIN)/demo.test
	@set -e; if ls test/systemd/*.go >/dev/null 2>&1; then \
		echo "$(STATIC) $(GO) test -c -tags lab -o $(BIN)/systemd.test ./test/systemd"; \
		$(STATIC) $(GO) test -c -tags lab -o $(BIN)/systemd.test.tmp ./test/systemd && mv -f $(BIN)/systemd.test.tmp $(BIN)/systemd.test; \
	fi

release:
	@mkdir -p $(BIN)/release
	$(call gobuild,$(BIN)/release/quelld,./cmd/quelld)
	$(call gobuild,$(BIN)/release/quell,./cmd/quell)

docs:
	$(call gobuild,$(BIN)/quell-docs,./cmd/quell-docs)
	rm -rf $(BIN)/docs
	$(BIN)/quell-docs --out $(BIN)/docs --gzip --date $(DOCDATE)

# deb packages what release and docs built (packaging/deb/nfpm.yaml) with
# the unit's ExecStart at /usr/bin/quelld. The lab test
# (test/systemd/deb_test.go) installs bin/deb/*.deb in a guest.
deb: release docs
	$(call unitfor,/usr,$(BIN)/pkg/quelld.service)
	rm -rf $(BIN)/deb && mkdir -p $(BIN)/deb
	DEB_VERSION='$(DEBVERSION)' $(GO) tool nfpm package --config packaging/deb/nfpm.yaml --packager deb --target $(BIN)/deb/

# image writes the DaemonSet's image (deploy/kubernetes) as a docker-archive
# tarball: the release binaries on an empty base, built in Go by
# cmd/quell-image (go-containerregistry), no daemon, no network. Its
# timestamps are the commit's, so the same commit gives the same digest.
# The lab test (test/systemd/image_test.go) podman-loads it in a guest.
image: release
	$(call gobuild,$(BIN)/quell-image,./cmd/quell-image)
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || echo 0) $(BIN)/quell-image --quelld $(BIN)/release/quelld --quell $(BIN)/release/quell --out $(BIN)/image/quell.tar

$(LAB): FORCE
	@mkdir -p $(BIN)
	$(call gobuild,$(LAB),./test/lab)

.PHONY: FORCE
FORCE:

prereqs: $(LAB)
	$(LAB) prereqs

# rules checks the Prometheus alert rules and runs their unit tests with
# promtool, from Debian's prometheus package (installed here if missing).
.PHONY: rules
rules: $(LAB)
	$(LAB) prereqs prometheus
	promtool check config deploy/prometheus/prometheus.yml
	cd deploy/prometheus && promtool test rules quell.rules.test.yml

# check is what CI refuses to let through; each failure says how to fix it.
check:
	@echo "check: gofmt -l, go vet ./..., go vet -tags lab ./..., go mod tidy -diff"
	@out=$$(gofmt -l .) || exit 1; if [ -n "$$out" ]; then \
		echo "$$out"; echo "check: these files are not gofmt-ed; run: gofmt -w ."; exit 1; fi
	@$(GO) vet ./... || { echo "check: go vet ./... failed; fix what it reports above"; exit 1; }
	@$(GO) vet -tags lab ./... || { \
		echo "check: go vet -tags lab ./... failed (the lab's tests and quelld's test hook); fix what it reports above"; exit 1; }
	@out=$$($(GO) mod tidy -diff 2>&1) || { echo "$$out"; \
		echo "check: go.mod/go.sum are not tidy (the diff above); run: go mod tidy"; exit 1; }

unit:
	$(GO) test -race ./...
	$(GO) test -race -tags lab ./cmd/quelld

test: check prereqs build deb image unit rules
	$(LAB) test $(LABARGS)

lab: prereqs build
	$(LAB) run --mode "$(MODE)" $(LABARGS) -- "$$CMD"

demo: prereqs build
	$(LAB) run --mode systemd --timeout 15m $(LABARGS) -- 'cd /tmp && demo.test -test.timeout 600s'

# A full run (no BENCHARGS) replaces the committed report even when targets
# missed: the report marks each MISS, and the exit status is the gate. A run
# of a subset (BENCHARGS=--only ...) or one that wrote no report leaves the
# committed report alone; its own stays in benchmarks/results/.new.
bench: prereqs build
	$(LAB) prereqs systemd-oomd
	$(call gobuild,$(BIN)/quell-bench,./cmd/quell-bench)
	@rm -rf benchmarks/results/.new; st=0; \
	$(BIN)/quell-bench lab --lab $(LAB) --bin $(BIN) --out benchmarks/results/.new $(BENCHARGS) || st=$$?; \
	if [ -z "$(BENCHARGS)" ] && [ -f benchmarks/results/.new/report.md ]; then \
		find benchmarks/results -mindepth 1 -maxdepth 1 ! -name .new -exec rm -rf {} +; \
		mv benchmarks/results/.new benchmarks/results/$$(date +%F); \
		echo "bench: report in benchmarks/results/$$(date +%F)/report.md"; \
	elif [ -f benchmarks/results/.new/report.md ]; then \
		echo "bench: a partial run; the committed report is unchanged, this run's is in benchmarks/results/.new/report.md"; fi; \
	if [ $$st != 0 ]; then echo "bench: FAILED: a target missed or a case failed (MISS lines above; exit $$st)"; fi; \
	exit $$st

clean:
	rm -rf $(BIN)

PREFIX ?= /usr/local

# install puts quelld, quell and the unit on this host. The example policy
# is installed as *.example so nothing is enforced before you write yours.
install: release docs
	@$(BIN)/release/quelld --check-host || echo "install: WARNING: quelld will refuse to start on this host until the above is fixed"
	$(call unitfor,$(PREFIX),$(BIN)/install/quelld.service)
	install -D -m 0755 $(BIN)/release/quelld $(DESTDIR)$(PREFIX)/bin/quelld
	install -D -m 0755 $(BIN)/release/quell  $(DESTDIR)$(PREFIX)/bin/quell
	install -D -m 0644 $(BIN)/install/quelld.service $(DESTDIR)/etc/systemd/system/quelld.service
	install -D -m 0644 $(BIN)/docs/man/quell.1.gz $(DESTDIR)$(PREFIX)/share/man/man1/quell.1.gz
	install -D -m 0644 $(BIN)/docs/man/quelld.8.gz $(DESTDIR)$(PREFIX)/share/man/man8/quelld.8.gz
	install -D -m 0644 $(BIN)/docs/man/quell-policy.5.gz $(DESTDIR)$(PREFIX)/share/man/man5/quell-policy.5.gz
	install -D -m 0644 $(BIN)/docs/completions/quell.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/quell
	install -D -m 0644 $(BIN)/docs/completions/_quell $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_quell
	install -D -m 0644 $(BIN)/docs/completions/quell.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/quell.fish
	install -D -m 0644 systemd/quell.conf $(DESTDIR)/usr/lib/sysusers.d/quell.conf
	install -d -m 0755 $(DESTDIR)/etc/quell/policy.d
	test -e $(DESTDIR)/etc/quell/quelld.toml || install -m 0644 systemd/quelld.toml $(DESTDIR)/etc/quell/quelld.toml
	test -e $(DESTDIR)/etc/quell/policy.d/10-tenants.toml.example || \
	  install -m 0644 policies/testdata/example/10-tenants.toml $(DESTDIR)/etc/quell/policy.d/10-tenants.toml.example
	-systemd-sysusers $(DESTDIR)/usr/lib/sysusers.d/quell.conf
	-systemctl daemon-reload
	@echo "write /etc/quell/policy.d/*.toml (check with: quell policy check), then: systemctl enable --now quelld"

# uninstall stops quelld, puts back every original value it changed, thaws
# and lifts penalties, and removes what install put down. Your policies in
# /etc/quell and the state in /var/lib/quell are kept.
uninstall:
	-systemctl disable --now quelld.service
	-$(PREFIX)/bin/quelld --restore-all
	-systemctl stop quell.slice
	rm -f $(DESTDIR)$(PREFIX)/bin/quelld $(DESTDIR)$(PREFIX)/bin/quell $(DESTDIR)/etc/systemd/system/quelld.service $(DESTDIR)/usr/lib/sysusers.d/quell.conf
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/quell.1.gz $(DESTDIR)$(PREFIX)/share/man/man8/quelld.8.gz $(DESTDIR)$(PREFIX)/share/man/man5/quell-policy.5.gz
	rm -f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/quell $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_quell $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/quell.fish
	rm -f $(DESTDIR)/etc/quell/policy.d/10-tenants.toml.example
	-systemctl daemon-reload
	@echo "kept: /etc/quell (your policies), /var/lib/quell (delete it once --restore-all succeeded), group quell"
