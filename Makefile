# thoth - core and crash dump manager.  See README.md.
#   make            build bin/
#   make check      run every test (also under ASan+UBSan)
#   make bench      performance figures (DESIGN §7), not part of check
#   make fuzz       run the libFuzzer harnesses (tests/fuzz)
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
LIBEXECDIR = $(PREFIX)/libexec/thoth
MANDIR = $(PREFIX)/share/man
SHAREDIR = $(PREFIX)/share/thoth
COMPLETIONDIR = $(PREFIX)/share/bash-completion/completions
# The one place that names the version: --version of every tool.
VERSION = 1.1.0

CC ?= cc
PKGS = jansson libelf libdw libcurl libcrypto zlib libzstd liblzma liblz4
CFLAGS ?= -O2 -g
SAN =
XCFLAGS = $(CFLAGS) $(SAN) -std=gnu11 -Wall -Wextra -Wno-sign-compare \
	-D_GNU_SOURCE -DTHOTH_VERSION='"$(VERSION)"' $(shell pkg-config --cflags $(PKGS))
# --as-needed: each tool records only the libraries its objects use.
XLDFLAGS = $(LDFLAGS) $(SAN) -Wl,--as-needed
# Libraries without pkg-config: libiberty (libiberty-dev) demangles.
NOPKG_LIBS = -liberty
LDLIBS = $(shell pkg-config --libs $(PKGS)) $(NOPKG_LIBS) -lpthread

TOOLS = $(patsubst cmd/%.c,%,$(wildcard cmd/*.c))
# lib/ and its subsystem folders (README.md, Design: the map).  The S3
# backend, lib/store/s3/ (libcurl), goes only into the tools that talk
# to the store; the others find an S3 store's index without it
# (lib/store/where.c).
S3SRC = $(wildcard lib/store/s3/*.c)
S3TOOLS = thoth-put thoth-set thoth-store thoth-index thoth-purge
LIBSRC = $(filter-out $(S3SRC),$(wildcard lib/*.c lib/*/*.c))
LIBOBJ = $(patsubst lib/%.c,$(OBJ)/%.o,$(LIBSRC))
S3OBJ = $(patsubst lib/%.c,$(OBJ)/%.o,$(S3SRC))
HDR = $(wildcard lib/*.h lib/*/*.h lib/*/*/*.h)

# libsystemd's sd-journal (lib/dump/journal.c) only for thoth-meta,
# the one tool that reads systemd-coredump's journal entries.
JOURNALTOOLS = thoth-meta
JOURNALLIBS = $(shell pkg-config --libs libsystemd)

OBJ = obj
BIN = bin

SCRIPTS = $(notdir $(wildcard pipelines/thoth*))

all: $(addprefix $(BIN)/,$(TOOLS) $(SCRIPTS))

$(OBJ)/%.o: lib/%.c $(HDR) | $(OBJ)
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) -Ilib -c -o $@ $<
$(OBJ)/usage.o: Makefile	# THOTH_VERSION
$(OBJ)/cmd-%.o: cmd/%.c $(HDR) | $(OBJ)
	$(CC) $(XCFLAGS) -Ilib -c -o $@ $<
$(OBJ)/libthoth.a: $(LIBOBJ)
	rm -f $@; ar rcs $@ $^
$(OBJ)/libthoth-s3.a: $(S3OBJ)
	rm -f $@; ar rcs $@ $^
$(BIN)/thoth-%: $(OBJ)/cmd-thoth-%.o $(OBJ)/libthoth.a | $(BIN)
	$(CC) $(XCFLAGS) $(XLDFLAGS) -o $@ $^ $(LDLIBS)
$(addprefix $(BIN)/,$(S3TOOLS)): $(BIN)/thoth-%: $(OBJ)/cmd-thoth-%.o \
    $(OBJ)/libthoth-s3.a $(OBJ)/libthoth.a | $(BIN)
	$(CC) $(XCFLAGS) $(XLDFLAGS) -Wl,-u,thoth_store_s3_init -o $@ $^ $(LDLIBS)
$(addprefix $(BIN)/,$(JOURNALTOOLS)): LDLIBS += $(JOURNALLIBS)
$(OBJ)/dump/journal.o: XCFLAGS += $(shell pkg-config --cflags libsystemd)
$(addprefix $(BIN)/,$(SCRIPTS)): $(BIN)/%: pipelines/% Makefile | $(BIN)
	sed 's/@VERSION@/$(VERSION)/g' $< >$@.tmp && chmod +x $@.tmp && mv $@.tmp $@
$(OBJ) $(BIN):
	mkdir -p $@

# The same tools built with AddressSanitizer and UBSan, for make check.
asan:
	$(MAKE) OBJ=obj-asan BIN=bin-asan CFLAGS="-O1 -g" \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"

check: all asan
	tests/run

bench: all
	tests/bench/run

# libFuzzer harnesses (clang): FUZZ_SECONDS each; see tests/fuzz/README.md.
fuzz:
	$(MAKE) -C tests/fuzz run

lint:
	mandoc -Tlint -Wwarning man/*.[157]
	shellcheck -x pipelines/thoth* share/thoth.bash-completion analyzers/* tests/*.sh tests/run tests/*.t tests/bench/run

deps:
	.ci/deps

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(SHAREDIR)/analyzers $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	    $(DESTDIR)$(COMPLETIONDIR)
	install -m 755 $(addprefix $(BIN)/,$(TOOLS) $(filter-out %.sh,$(SCRIPTS))) $(DESTDIR)$(BINDIR)
	install -m 644 $(addprefix $(BIN)/,$(filter %.sh,$(SCRIPTS))) $(DESTDIR)$(LIBEXECDIR)
	install -m 644 share/thoth.bash-completion $(DESTDIR)$(COMPLETIONDIR)/thoth
	install -m 755 $(wildcard analyzers/*) $(DESTDIR)$(SHAREDIR)/analyzers
	install -m 644 share/signature.rules $(DESTDIR)$(SHAREDIR)
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(wildcard man/*.5) $(DESTDIR)$(MANDIR)/man5
	install -m 644 $(wildcard man/*.7) $(DESTDIR)$(MANDIR)/man7

clean:
	rm -rf obj obj-asan bin bin-asan tests/tmp

.PHONY: all asan check bench fuzz lint deps install clean
# Keep the objects of the tools: make would delete them as intermediates.
.SECONDARY:
