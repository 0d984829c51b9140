# Builds the libFuzzer targets with clang into build-fuzz/: every library
# source instrumented for coverage and with ASan and UBSan.  Called by the
# top Makefile's `fuzz-build` with FUZZ_SRCS and LIB_SRCS.

FUZZ_CC		?= clang
PKG_CONFIG	?= pkg-config
PKGS		= libevent libevent_openssl libevent_pthreads libcurl libcjson \
		  openssl libidn2 libpsl zlib libxml-2.0
FB		= build-fuzz
SAN		= -fsanitize=address,undefined -fno-sanitize-recover=all
FCFLAGS		= -g -O1 -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE \
		  -Ifetcher -Ifeed $(shell $(PKG_CONFIG) --cflags $(PKGS))
FLIBS		= $(shell $(PKG_CONFIG) --libs $(PKGS)) -lcrypt -lpthread -lm
FOBJS		= $(LIB_SRCS:%.c=$(FB)/%.o)
FBINS		= $(FUZZ_SRCS:tests/fuzz/%.c=$(FB)/%)

all: $(FBINS)

# Keep the instrumented objects between builds.
.SECONDARY: $(FOBJS)

$(FB)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FCFLAGS) $(SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(FB)/%: tests/fuzz/%.c $(FOBJS)
	$(FUZZ_CC) $(FCFLAGS) $(SAN) -fsanitize=fuzzer -o $@ $< $(FOBJS) \
	    $(FLIBS)
