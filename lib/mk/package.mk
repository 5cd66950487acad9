# Packaging (scripts/install.sh, tools/, the pkg-config file): what the
# installer needs to know about the library, as shell assignments.
.PHONY: print-install-vars
print-install-vars:
	@echo "SOREAL='$(SOREAL)' SOVER='$(SOVER)' LDLIBS='$(LDLIBS)'"
