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
#   make bench      library benchmarks against glibc and absl (ratios), then bench-vm
#   make bench-vm   futex against the /dev/syncfix ioctl, inside the VM
#   make load       insmod the built module into the running kernel
#   make unload     rmmod it
#   make install    library, headers, pkg-config file, syncfixctl, clogdump,
#                   man pages
#                   (PREFIX=/usr/local, DESTDIR); make uninstall removes them
#   make modules_install   syncfix.ko into /lib/modules (kbuild's rules)
#   make install-dkms      the module's source and dkms.conf into
#                   $(DKMS_SRCDIR)/syncfix-VERSION for dkms add/build/install

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
S := $(TOP)/scripts
KDIR ?=
KOPT := $(if $(KDIR),KDIR=$(KDIR))
MAKEFLAGS += --no-print-directory

# Boot limit per VM run, in seconds.
VM_TIMEOUT ?= 900

.PHONY: all deps kmod lib selftests examples check demo bench bench-vm load unload \
	clean lint sparse checkpatch vm-affected vm-modern vm-debug debug-kmod \
	check-debug check-powerloss check-mutants

all: kmod lib selftests tools examples

deps:
	@$(S)/install-deps.sh

kmod:
	$(MAKE) -C kmod $(KOPT)

lib:
	$(MAKE) -C lib

selftests:
	$(MAKE) -C selftests

examples: lib
	$(MAKE) -C examples

sparse:
	$(MAKE) -C kmod sparse $(KOPT)

checkpatch:
	$(MAKE) -C kmod checkpatch

lint: sparse checkpatch

# Programs that run inside the VM: the kselftests, then the library's tests
# built statically.
vm-programs = $$($(MAKE) -s -C selftests list) $$($(MAKE) -s -C lib vm-test-list)
# syncfixctl, static, run by selftests/syncfix_ctl_test (built with it).
vm-files = --file $(TOP)/build/tools/vm/syncfixctl:/bin/syncfixctl

vm-tests = $$(for t in $(vm-programs); do printf -- '--test %s ' $$t; done)
debug-vm-opts = --kernel $(DEBUG_TREE)/arch/x86/boot/bzImage --ko $(DEBUG_KMOD)/syncfix.ko

# $(call vm_stage,NAME,CPU,EXTRA vm.sh OPTIONS): one VM run as a check stage.
define vm_stage
	$(S)/stage.sh $(1) --tap build/results/$(1).raw -- \
		$(S)/vm.sh --cpu $(2) --name check-$(1) --quiet $(3) \
		--timeout $(VM_TIMEOUT) --tap build/results/$(1).raw $(vm-files) $(vm-tests)
endef

build-vm-programs = $(S)/stage.sh build-vm-programs -- \
	sh -c '$(MAKE) -C selftests && $(MAKE) -C lib vm-tests'

# The debug kernel (once, cached) and the module against it, then a boot of
# it on the affected CPU running every selftest.
define debug_stages
	@$(S)/stage.sh build-debug-kernel -- $(MAKE) debug-kmod
	@$(call vm_stage,vm-debug,affected,$(debug-vm-opts))
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
	@$(S)/stage.sh examples -- $(MAKE) -C examples run
	@$(S)/stage.sh symbols -- $(S)/check-symbols.sh
	@$(S)/stage.sh man -- $(S)/check-man.sh
	@$(S)/stage.sh install -- $(S)/check-install.sh
	@$(S)/stage.sh tsan-user -- $(S)/check-tsan-user.sh
	@$(S)/stage.sh syncfixctl-host -- $(S)/check-syncfixctl.sh
	@$(S)/stage.sh clogdump -- $(S)/check-clogdump.sh
	@$(S)/stage.sh dkms -- $(S)/check-dkms.sh
	@$(build-vm-programs)
	@$(call vm_stage,vm-affected,affected)
	@$(call vm_stage,vm-modern,modern)
	@$(S)/stage.sh vm-mutants --tap build/results/vm-mutants.raw -- \
		$(S)/check-mutants.sh --quiet --timeout $(VM_TIMEOUT) \
		--tap build/results/vm-mutants.raw
	@$(S)/stage.sh vm-powerloss --tap build/results/vm-powerloss.raw -- \
		$(S)/check-powerloss.sh --quiet --timeout $(VM_TIMEOUT) \
		--tap build/results/vm-powerloss.raw
	$(debug_stages)
	@$(S)/summary.sh

# The module's mutants (selftests/mutants/*.patch), each booted with the
# tests that must catch it; MUTANTS=NAME... for some of them.
check-mutants: kmod selftests deps
	$(S)/check-mutants.sh $(MUTANTS)

# The commit log under power loss: one VM run (lib/commit/tests/commit-powerloss.c).
check-powerloss: kmod deps
	$(S)/check-powerloss.sh

# Only the debug-kernel stages.
check-debug: deps
	@rm -rf build/results && mkdir -p build/results
	@$(build-vm-programs)
	$(debug_stages)
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
	@cp -a VERSION $(TOP)/build/debug/
	$(MAKE) -C $(DEBUG_KMOD) KDIR=$(DEBUG_TREE)

# One VM run with its console on the terminal.
vm-debug: debug-kmod
vm-debug: VM_OPTS = $(debug-vm-opts)
vm-affected: VM_CPU = affected
vm-modern: VM_CPU = modern
vm-affected vm-modern: kmod
vm-affected vm-modern vm-debug: deps
	$(MAKE) -C selftests
	$(MAKE) -C lib vm-tests
	$(S)/vm.sh --cpu $(or $(VM_CPU),affected) --name $@ --timeout $(VM_TIMEOUT) \
		$(VM_OPTS) $(vm-files) $(vm-tests)

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

bench: deps lib
	$(MAKE) -C lib bench
	$(MAKE) bench-vm

# The wait backends inside the VM (module loaded): futex against the ioctl,
# ping-pong and contended locks, on the modern CPU model.
bench-vm: deps kmod
	$(MAKE) -C lib vm-bench
	$(S)/vm.sh --cpu modern --name bench-vm --timeout $(VM_TIMEOUT) \
		--file $(TOP)/build/lib/vm/bench-wait:/bin/bench-wait \
		--run 'bench-wait'

load: kmod
	@$(S)/load.sh load

unload:
	@$(S)/load.sh unload

# ---- packaging -------------------------------------------------------------
# make install / uninstall: scripts/install.sh (it keeps a manifest, so that
# uninstall removes exactly what install put there).  Directory variables:
# PREFIX, DESTDIR, BINDIR, LIBDIR, INCLUDEDIR, DATADIR, MANDIR, PKGCONFIGDIR.
PREFIX ?= /usr/local
DKMS_SRCDIR ?= /usr/src
VERSION := $(shell cat VERSION)
install-vars := $(foreach v,DESTDIR PREFIX BINDIR LIBDIR INCLUDEDIR DATADIR \
	MANDIR PKGCONFIGDIR LDCONFIG,$(if $($(v)),$(v)='$($(v))'))
DKMS_FILES := dkms.conf VERSION kmod/Kbuild kmod/Makefile $(wildcard kmod/*.c kmod/*.h) \
	uapi/linux/syncfix.h

.PHONY: tools install uninstall modules_install install-dkms uninstall-dkms
tools: lib
	$(MAKE) -C tools

install: lib tools
	@$(install-vars) $(S)/install.sh install

uninstall:
	@$(install-vars) $(S)/install.sh uninstall

modules_install: kmod
	$(MAKE) -C kmod modules_install $(KOPT)

# The module's sources for DKMS; then: dkms add syncfix/$(VERSION), dkms
# build and dkms install (Documentation/admin-guide/install.rst).
install-dkms:
	@d=$(DESTDIR)$(DKMS_SRCDIR)/syncfix-$(VERSION); rm -rf $$d; \
	for f in $(filter-out %.mod.c,$(DKMS_FILES)); do \
		install -D -m 644 $$f $$d/$$f || exit 1; \
	done; echo "syncfix $(VERSION) sources in $$d"

uninstall-dkms:
	rm -rf $(DESTDIR)$(DKMS_SRCDIR)/syncfix-$(VERSION)

clean:
	-$(MAKE) -C tools clean
	-$(MAKE) -C examples clean
	-$(MAKE) -C kmod clean
	-$(MAKE) -C lib clean
	-$(MAKE) -C selftests clean
	rm -rf build/results build/vm
