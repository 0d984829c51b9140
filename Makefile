# lumu-edl: plain GNU make.  Honours CC, CFLAGS, CPPFLAGS, LDFLAGS,
# PREFIX, DESTDIR, SYSCONFDIR.  SANITIZER=address|undefined builds an
# instrumented tree in build-$(SANITIZER)/.

PROG		= lumu-edl
PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
SYSCONFDIR	?= /etc
UNITDIR		?= $(PREFIX)/lib/systemd/system
PKG_CONFIG	?= pkg-config
CC		?= cc
CFLAGS		?= -O2 -g
INSTALL		?= install

PKGS		= libevent libevent_openssl libevent_pthreads libcurl libcjson \
		  openssl libidn2 libpsl zlib libxml-2.0
PKG_CFLAGS	:= $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS	:= $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

WARN		= -std=c11 -Wall -Wextra -Wstrict-prototypes \
		  -Wmissing-prototypes -Wmissing-declarations -Wshadow \
		  -Wpointer-arith -Wsign-compare -Wcast-qual -Wformat=2 \
		  -Wno-unused-parameter
DEFS		= -D_GNU_SOURCE -Ifetcher -Ifeed

ifeq ($(SANITIZER),)
BUILD		= build
SANFLAGS	=
else ifeq ($(SANITIZER),address)
BUILD		= build-address
SANFLAGS	= -fsanitize=address -fno-sanitize-recover=all \
		  -fno-omit-frame-pointer
else ifeq ($(SANITIZER),undefined)
BUILD		= build-undefined
SANFLAGS	= -fsanitize=undefined -fno-sanitize-recover=all \
		  -fno-omit-frame-pointer
else ifeq ($(SANITIZER),thread)
BUILD		= build-thread
SANFLAGS	= -fsanitize=thread -fno-omit-frame-pointer
else
$(error SANITIZER must be address, undefined or thread, not '$(SANITIZER)')
endif

ALL_CFLAGS	= $(CFLAGS) $(SANFLAGS) $(WARN) $(DEFS) $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS	= $(LDFLAGS) $(SANFLAGS)
LIBS		= $(PKG_LIBS) -lcrypt -lpthread -lm

LIB_SRCS	= $(wildcard fetcher/*.c) $(filter-out feed/main.c, \
		  $(wildcard feed/*.c))
LIB_OBJS	= $(LIB_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ	= $(BUILD)/feed/main.o
TEST_SRCS	= $(wildcard tests/unit/test_*.c)
TEST_BINS	= $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS	= $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all check test run bench stress fuzz fuzz-build deps install uninstall \
	clean tests

all: $(BUILD)/$(PROG) $(BUILD)/lumu-to-paloalto
	@ln -sf $(BUILD)/$(PROG) $(PROG)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/liblumuedl.a: $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJS)

$(BUILD)/$(PROG): $(MAIN_OBJ) $(BUILD)/liblumuedl.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(MAIN_OBJ) $(BUILD)/liblumuedl.a $(LIBS)

# lumu-to-paloalto is the same program, chosen by its name.
$(BUILD)/lumu-to-paloalto: $(BUILD)/$(PROG)
	ln -sf $(PROG) $@

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/liblumuedl.a tests/unit/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	    $(BUILD)/liblumuedl.a $(LIBS)

tests: $(TEST_BINS)

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/liblumuedl.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	    $(BUILD)/liblumuedl.a $(LIBS)

# Every test: unit, in-process server, black-box; ends in one summary line.
# The Debian packages are checked (and installed, as root) first, in a
# separate step, because pkg-config flags are read when make starts.
check test:
	@tests/deps.sh
	@$(MAKE) --no-print-directory all tests
	@BUILD=$(BUILD) tests/run.sh

# The demo: the stand-in Lumu API with generated data, and the daemon.
run:
	@tests/deps.sh
	@$(MAKE) --no-print-directory all
	@tests/demo.sh $(BUILD)/$(PROG)

bench:
	@tests/deps.sh --bench
	@$(MAKE) --no-print-directory all $(BUILD)/bench/bench_render
	@BUILD=$(BUILD) tests/bench/run.sh

# The longer runs: load during swaps, fifty crashes, resource bounds.
stress:
	@tests/deps.sh --bench
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/stress/run.sh

# libFuzzer targets, built with clang; FUZZ_SECONDS per target.
FUZZ_SECONDS	?= 60
fuzz-build:
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk \
	    FUZZ_SRCS="$(FUZZ_SRCS)" LIB_SRCS="$(LIB_SRCS)"
fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_SECONDS)

deps:
	@tests/deps.sh --bench

# Units get the installed paths; feeds.conf (never overwritten) is 0644
# because the dynamic user must read it: secrets go in credentials.
UNITS		= systemd/lumu-edl.service systemd/lumu-to-paloalto.service \
		  systemd/lumu-to-paloalto.timer
MANPAGES	= man/lumu-to-paloalto.1 man/feeds.conf.5 man/lumu-edl.8
UNIT_SED	= -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
		  -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

install: all
	$(INSTALL) -d -m 755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/lumu-edl $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 755 $(BUILD)/$(PROG) $(DESTDIR)$(SBINDIR)/$(PROG)
	ln -sf $(SBINDIR)/$(PROG) $(DESTDIR)$(BINDIR)/lumu-to-paloalto
	@for u in $(UNITS); do \
	    t=$(DESTDIR)$(UNITDIR)/$${u##*/}; \
	    sed $(UNIT_SED) $$u >$$t.tmp && chmod 644 $$t.tmp && \
	    mv -f $$t.tmp $$t || exit 1; done
	@for m in $(MANPAGES); do \
	    $(INSTALL) -m 644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/ || \
	    exit 1; done
	@if [ ! -e $(DESTDIR)$(SYSCONFDIR)/lumu-edl/feeds.conf ]; then \
	    $(INSTALL) -m 644 feeds.conf \
	        $(DESTDIR)$(SYSCONFDIR)/lumu-edl/feeds.conf; \
	else echo "keeping existing $(SYSCONFDIR)/lumu-edl/feeds.conf"; fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/$(PROG) $(DESTDIR)$(BINDIR)/lumu-to-paloalto
	@for u in $(UNITS); do rm -f $(DESTDIR)$(UNITDIR)/$${u##*/}; done
	@for m in $(MANPAGES); do \
	    rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	@echo "left $(SYSCONFDIR)/lumu-edl in place"

clean:
	rm -rf build build-address build-undefined build-thread build-fuzz \
	    $(PROG)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
