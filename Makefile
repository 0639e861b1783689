# The container workshop sandbox.
#
#   sudo make demo    the presenter's walk through every step (offline)
#   sudo make check   install what is missing, build, and grade every step
#
# `make help` lists every target.

CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror
# the static test programs (probe, escape): never sanitized (-static and ASan do not mix)
STATIC_CFLAGS := $(CFLAGS)
PKG     ?= pkg-config
BUILD   := build

# SAN=1 builds with AddressSanitizer + UndefinedBehaviorSanitizer; undefined
# behaviour stops the program (as ASan's errors do), so no test passes over one.
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

# Steps 01-04 are one box.c each; what a step needs from libraries is listed here.
STEP_DIRS := $(sort $(wildcard steps/0[1-4]-*))
BOXES     := $(addsuffix /box,$(STEP_DIRS))
LIBS_04-netns   := $$($(PKG) --libs libnl-route-3.0)
CFLAGS_04-netns := $$($(PKG) --cflags libnl-route-3.0)

# Workspace of the learner (make exercises): graded instead of the reference when present.
WORKSPACE := workspace

.PHONY: all help deps check check-vm check-vm-selftest demo doctor diff format clean exercises solution \
	fixtures mini-docker bench bench-smoke

all: fixtures $(BOXES) mini-docker

# The programs share their paths with and without SAN=1: switching rebuilds them
# (this mark changes only when SAN does; the boxes and mini-docker depend on it).
# Written as the Makefile is read, not by a rule: a rule that always runs would
# make every program out of date at each make (the runner runs make all each time).
SAN_MARK := $(BUILD)/.san
ifneq ($(shell cat $(SAN_MARK) 2>/dev/null || echo none),$(SAN))
$(shell mkdir -p $(BUILD) && echo "$(SAN)" >$(SAN_MARK))
endif

help:
	@echo "make            build every step and the test fixtures"
	@echo "make deps       install the Debian packages the project needs (apt)"
	@echo "make check      deps + build + grade every step (./runner); needs root"
	@echo "make check SAN=1  the same built with ASan+UBSan, each test file once"
	@echo "make check-vm   the same inside a throwaway VM with pure cgroup v2 (vm/README.md)"
	@echo "make demo       presenter mode: a narrated walk through the steps; needs root"
	@echo "make doctor     can this machine run the workshop? what to fix, per step"
	@echo "make diff STEP=N  what step N adds: diff of box.c against step N-1"
	@echo "make diff STEP=N LESSON=1  the lesson alone: the same diff without the blocks marked"
	@echo "                  BEYOND THE LESSON (v1 cgroups, leftovers, rootless plumbing, corner cases);"
	@echo "                  in step 03, part 1 (namespaces, pivot_root); LESSON=2 adds part 2 (user"
	@echo "                  namespace, time namespace, init)"
	@echo "make exercises  write a learner workspace (workspace/) with TODOs to fill in"
	@echo "make solution EX=01.1  put one reference solution back into the workspace"
	@echo "make format     apply .clang-format to every C file"
	@echo "make bench      side by side with crun, runc, bwrap, skopeo + umoci; needs root"
	@echo "make clean      remove what the build made"
	@echo "make clean-state  remove what a crashed box or mini-docker left (cgroups, mounts, veths)"
	@echo "make fuzz       run each libFuzzer harness of fuzz/ for FUZZ_SECONDS (60)"
	@echo "make valgrind   mini-docker's pull, run, exec, stop, rm under valgrind (memcheck); needs root"

# --- steps -------------------------------------------------------------------

# A pattern rule, so the learner's workspace/steps/NN-*/box builds the same way.
# There, a TODO stub may leave a helper unused: a warning, not an error.
STUB_CFLAGS := -Wno-error=unused-function -Wno-error=unused-variable -Wno-error=unused-parameter \
	-Wno-error=unused-but-set-variable -Wno-error=unused-label
%/box: %/box.c $(SAN_MARK)
	$(CC) $(CFLAGS) $(if $(filter steps/%,$*),,$(STUB_CFLAGS)) $(CFLAGS_$(notdir $*)) -o $@ $< \
		$(LDFLAGS) $(LIBS_$(notdir $*))

mini-docker: $(SAN_MARK)
	@if [ -f steps/05-mini-docker/Makefile ]; then \
		if [ $(SAN_MARK) -nt steps/05-mini-docker/mini-docker ]; then $(MAKE) -s -C steps/05-mini-docker clean; fi; \
		$(MAKE) -C steps/05-mini-docker CC="$(CC)" SAN="$(SAN)"; fi

# --- fixtures: a busybox rootfs with the probe inside --------------------------

fixtures: $(BUILD)/rootfs/.done

$(BUILD)/probe: tests/fixtures/probe.c | $(BUILD)
	$(CC) $(STATIC_CFLAGS) -static -o $@ $<

$(BUILD)/escape: tests/fixtures/escape.c | $(BUILD)
	$(CC) $(STATIC_CFLAGS) -static -o $@ $<

$(BUILD)/rootfs/.done: tests/fixtures/mkrootfs.sh $(BUILD)/probe $(BUILD)/escape
	tests/fixtures/mkrootfs.sh $(BUILD)/rootfs $(BUILD)/probe $(BUILD)/escape
	touch $@

$(BUILD):
	mkdir -p $@

# --- the two commands of README.md --------------------------------------------

deps:
	@scripts/deps

# SAN=1: each test file once, against its own step's program (runner --own)
check: deps
	@$(MAKE) --no-print-directory all
	./runner $(if $(filter 1,$(SAN)),--own)

check-vm: deps
	@$(MAKE) --no-print-directory all
	./runner --vm

check-vm-selftest: deps
	bats tests/tools/vm-lane.bats

demo: deps
	@$(MAKE) --no-print-directory all
	scripts/demo

# --- learning aids ------------------------------------------------------------

# make diff STEP=3: what step 03 adds to step 02. LESSON=1: the lesson alone, the
# same diff with every "BEYOND THE LESSON" ... "END BEYOND" block of both files left out,
# and step 03's "LESSON PART 2" blocks too (user namespace, time namespace, init);
# LESSON=2: both parts of the lesson (only the BEYOND blocks left out).
BEYOND := /\/\* BEYOND THE LESSON/,/\/\* END BEYOND \*\//d
PART2  := /\/\* LESSON PART 2/,/\/\* END PART 2 \*\//d
diff:
	@test -n "$(STEP)" || { echo "usage: make diff STEP=N (2..4) [LESSON=1]"; exit 2; }
	@new=$$(ls -d steps/0$(STEP)-* 2>/dev/null | head -n1); \
	old=$$(ls -d steps/0$$(($(STEP) - 1))-* 2>/dev/null | head -n1); \
	test -n "$$new" -a -n "$$old" || { echo "make diff: no step $(STEP) or no step before it"; exit 2; }; \
	if [ -n "$(LESSON)" ]; then \
		cut='$(BEYOND)'; [ "$(LESSON)" = 2 ] || cut="$$cut;$(PART2)"; \
		tmp=$$(mktemp -d) && mkdir -p "$$tmp/$$old" "$$tmp/$$new" && \
		sed "$$cut" "$$old/box.c" | cat -s >"$$tmp/$$old/box.c" && sed "$$cut" "$$new/box.c" | cat -s >"$$tmp/$$new/box.c" && \
		(cd "$$tmp" && git --no-pager diff --no-index --stat "$$old/box.c" "$$new/box.c"; \
		 git --no-pager diff --no-index "$$old/box.c" "$$new/box.c"); rm -rf "$$tmp"; \
	else \
		git --no-pager diff --no-index --stat "$$old/box.c" "$$new/box.c"; \
		git --no-pager diff --no-index "$$old/box.c" "$$new/box.c" || true; \
	fi

exercises:
	./runner --init

solution:
	@test -n "$(EX)" || { echo "usage: make solution EX=01.1"; exit 2; }
	scripts/exercises solution "$(EX)"

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BOXES)
	@if [ -f steps/05-mini-docker/Makefile ]; then $(MAKE) -C steps/05-mini-docker clean; fi

doctor:
	@scripts/doctor

# what a crashed box or mini-docker left (cgroups, mounts, veths, mini0): scripts/clean-state --help
.PHONY: clean-state
clean-state:
	@scripts/clean-state $(if $(FORCE),--force)

# --- benchmarks: side by side with crun, runc, bwrap, skopeo + umoci (bench/README.md)

bench: all
	bench/run

bench-smoke: all
	bench/run --smoke

# --- fuzzing: libFuzzer harnesses for step 05's parsers (fuzz/Makefile), FUZZ_SECONDS each
.PHONY: fuzz
fuzz:
	$(MAKE) -C fuzz run FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60)

# --- valgrind: memcheck over mini-docker's commands, fails on any error or definite leak
.PHONY: valgrind
valgrind: all
	bats tests/tools/valgrind.bats
