# SPDX-License-Identifier: GPL-2.0
#
# syncfix: the top level only delegates.  kmod/ builds syncfix.ko, lib/
# builds libsyncfix-user, selftests/ builds the kselftest programs that run
# inside the VM, scripts/ holds the setup and the VM harness.
#
#   make            build the module, the library and the selftests
#   make demo       boot the VM on an affected and a modern CPU, show errata
#   make check      every test: lint, library (plain, TSAN, ASAN+UBSAN), VM
#   make check-debug only the debug-kernel run (lockdep, KASAN, UBSAN)
#   make bench      library benchmarks against glibc (ratios)
#   make load       insmod the built module into the running kernel
#   make unload     rmmod it

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
S := $(TOP)/scripts
KDIR ?=
KOPT := $(if $(KDIR),KDIR=$(KDIR))
MAKEFLAGS += --no-print-directory

# Boot limit per VM run, in seconds.
VM_TIMEOUT ?= 900

.PHONY: all deps kmod lib selftests examples check demo bench load unload \
	clean lint sparse checkpatch vm-affected vm-modern vm-debug debug-kmod \
	check-debug

all: kmod lib selftests

deps:
	@$(S)/install-deps.sh

kmod:
	$(MAKE) -C kmod $(KOPT)

lib:
	$(MAKE) -C lib

selftests:
	$(MAKE) -C selftests

examples:
	$(MAKE) -C lib examples

sparse:
	$(MAKE) -C kmod sparse $(KOPT)

checkpatch:
	$(MAKE) -C kmod checkpatch

lint: sparse checkpatch

# Programs that run inside the VM: the kselftests, then the library's tests
# built statically.
vm-programs = $$($(MAKE) -s -C selftests list) $$($(MAKE) -s -C lib vm-test-list)
# The stale-wait demonstration runs the broken build that sits beside it.
vm-files = --file $(TOP)/build/lib/vm/rwlock-glibc23861-broken:/tests/rwlock-glibc23861-broken

define vm_run
	$(S)/stage.sh vm-$(1) --tap build/results/vm-$(1).raw -- \
		$(S)/vm.sh --cpu $(1) --name check-$(1) --quiet \
		--timeout $(VM_TIMEOUT) --tap build/results/vm-$(1).raw $(vm-files) \
		$$(for t in $(vm-programs); do printf -- '--test %s ' $$t; done)
endef

# Every stage runs even when an earlier one failed; the summary counts them
# all and decides the exit status.
check: deps
	@rm -rf build/results && mkdir -p build/results
	@$(S)/stage.sh build-kmod -- $(MAKE) -C kmod $(KOPT)
	@$(S)/stage.sh sparse -- $(MAKE) -C kmod sparse $(KOPT)
	@$(S)/stage.sh checkpatch -- $(MAKE) -C kmod checkpatch
	@$(S)/stage.sh harness -- $(S)/tests/vm-parse-test.sh
	@$(S)/stage.sh lib -- $(MAKE) -C lib check
	@$(S)/stage.sh lib-tsan -- $(MAKE) -C lib check SAN=thread
	@$(S)/stage.sh lib-asan -- $(MAKE) -C lib check SAN=address,undefined
	@$(S)/stage.sh build-vm-programs -- sh -c '$(MAKE) -C selftests && $(MAKE) -C lib vm-tests'
	@$(call vm_run,affected)
	@$(call vm_run,modern)
	@$(S)/stage.sh build-debug-kernel -- $(MAKE) debug-kmod
	@$(S)/stage.sh vm-debug --tap build/results/vm-debug.raw -- \
		$(S)/vm.sh --cpu affected --name check-debug --quiet \
		--kernel $(DEBUG_TREE)/arch/x86/boot/bzImage \
		--ko $(DEBUG_KMOD)/syncfix.ko \
		--timeout $(VM_TIMEOUT) --tap build/results/vm-debug.raw $(vm-files) \
		$$(for t in $(vm-programs); do printf -- '--test %s ' $$t; done)
	@$(S)/summary.sh

# Only the debug-kernel stages: build the kernel (once, cached) and the
# module against it, then boot it and run every selftest.
check-debug: deps
	@rm -rf build/results && mkdir -p build/results
	@$(S)/stage.sh build-vm-programs -- sh -c '$(MAKE) -C selftests && $(MAKE) -C lib vm-tests'
	@$(S)/stage.sh build-debug-kernel -- $(MAKE) debug-kmod
	@$(S)/stage.sh vm-debug --tap build/results/vm-debug.raw -- \
		$(S)/vm.sh --cpu affected --name check-debug --quiet \
		--kernel $(DEBUG_TREE)/arch/x86/boot/bzImage \
		--ko $(DEBUG_KMOD)/syncfix.ko \
		--timeout $(VM_TIMEOUT) --tap build/results/vm-debug.raw $(vm-files) \
		$$(for t in $(vm-programs); do printf -- '--test %s ' $$t; done)
	@$(S)/summary.sh

# A debug kernel (lockdep, KASAN, UBSAN) built once from Debian's
# linux-source-6.1 (scripts/debug-kernel.sh), and syncfix.ko built against it
# from a copy of kmod/ so that kmod/ keeps the build for Debian's kernel.
DEBUG_TREE := $(TOP)/build/cache/debug-kernel/linux-source-6.1
DEBUG_KMOD := $(TOP)/build/debug/kmod

debug-kmod:
	$(S)/debug-kernel.sh >/dev/null
	@mkdir -p $(DEBUG_KMOD) $(TOP)/build/debug/uapi
	@cp -a kmod/Kbuild kmod/Makefile kmod/*.c kmod/*.h $(DEBUG_KMOD)/
	@rm -f $(DEBUG_KMOD)/*.mod.c
	@cp -a uapi/. $(TOP)/build/debug/uapi/
	$(MAKE) -C $(DEBUG_KMOD) KDIR=$(DEBUG_TREE)

vm-debug: deps debug-kmod
	$(MAKE) -C selftests
	$(MAKE) -C lib vm-tests
	$(S)/vm.sh --cpu affected --name debug --timeout $(VM_TIMEOUT) $(vm-files) \
		--kernel $(DEBUG_TREE)/arch/x86/boot/bzImage --ko $(DEBUG_KMOD)/syncfix.ko \
		$$(for t in $(vm-programs); do printf -- '--test %s ' $$t; done)

vm-affected vm-modern: vm-%: deps kmod
	$(MAKE) -C selftests
	$(MAKE) -C lib vm-tests
	$(S)/vm.sh --cpu $* --name $* --timeout $(VM_TIMEOUT) $(vm-files) \
		$$(for t in $(vm-programs); do printf -- '--test %s ' $$t; done)

# The README's first command: the module's verdict on both CPU models, then
# an example program linked against libsyncfix-user, in the VM and here.
demo: deps
	@$(MAKE) kmod lib
	@$(MAKE) -C lib examples
	@for cpu in affected modern; do \
		echo; echo "=== syncfix demo: $$cpu CPU ==="; \
		$(S)/vm.sh --cpu $$cpu --name demo-$$cpu --no-insmod \
			--file $(TOP)/build/lib/vm/hello:/bin/syncfix-hello \
			--run 'insmod /syncfix.ko' \
			--run 'cat /sys/kernel/syncfix/errata' \
			--run 'cat /sys/kernel/syncfix/hotpatch' \
			--run 'cat /proc/syncfix/status' \
			--run 'syncfix-hello' || exit 1; \
	done
	@echo; echo "=== syncfix demo: this machine (no module) ==="
	@$(TOP)/build/lib/plain/examples/hello

bench: lib
	$(MAKE) -C lib bench

load: kmod
	@$(S)/load.sh load

unload:
	@$(S)/load.sh unload

clean:
	-$(MAKE) -C kmod clean
	-$(MAKE) -C lib clean
	-$(MAKE) -C selftests clean
	rm -rf build/results build/vm
