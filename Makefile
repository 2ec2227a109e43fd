# bhyve for Linux
CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter \
	-D_GNU_SOURCE -Isrc -MMD -MP $(SANITIZE)
LDLIBS += -lpthread -llzma -lz -lzstd -luring -lslirp -lmd

BUILD := build
SRCS := $(wildcard src/*.c src/*/*.c)
OBJS := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIBOBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BIN := $(BUILD)/unit-tests

.PHONY: all clean test unit asan-unit kvm e2e guests fuzz fuzz-targets
all: $(BUILD)/bhyve

$(BUILD)/bhyve: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Unit tests link every object but main.o (device registration lives in
# ELF sections, so whole objects are linked, not an archive).
$(UNIT_BIN): $(UNIT_SRCS) $(LIBOBJS)
	$(CC) $(CFLAGS) -o $@ $(UNIT_SRCS) $(LIBOBJS) $(LDLIBS) -lcmocka

unit: $(UNIT_BIN)

# The unit tests again under AddressSanitizer and UBSan (any finding is
# fatal), in a build tree of their own.
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
asan-unit:
	$(MAKE) BUILD=$(BUILD)/asan SANITIZE="$(ASAN_FLAGS)" \
	    $(BUILD)/asan/unit-tests

# libFuzzer targets for the virtqueue chain validator, the device request
# parsers behind it (virtio-blk, virtio-net, virtio-console's control
# messages), the PCI devices' registers and the control socket's list
# unpacking (clang), run bounded.
FUZZ_SECONDS ?= 30
FUZZ_NVL_SECONDS ?= 10
FUZZ_DEV_SECONDS ?= 20
FUZZ_PCI_SECONDS ?= 20
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined
$(BUILD)/vq-fuzz: tests/fuzz/vq_fuzz.c src/virtio/queue.c src/vmm/mem.c
	@mkdir -p $(BUILD)
	clang -g -O1 -Isrc -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	    -o $@ $^
$(BUILD)/nvl-fuzz: tests/fuzz/nvl_fuzz.c src/nvlist.c
	@mkdir -p $(BUILD)
	clang -g -O1 -Isrc -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	    -o $@ $^
# The device target links every object but main.o, built by clang with
# coverage in a tree of its own; the link routes the devices' calls of
# vq_getchain, vq_retchain and vq_relchain through the target, which
# keeps account of the chains taken and given back.
FUZZ_WRAP := -Wl,--wrap=vq_getchain,--wrap=vq_retchain,--wrap=vq_relchain
$(BUILD)/dev-fuzz: tests/fuzz/dev_fuzz.c $(LIBOBJS)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(FUZZ_WRAP) -o $@ $^ $(LDLIBS)
# The register-surface target links the same objects, unwrapped.
$(BUILD)/pci-fuzz: tests/fuzz/pci_fuzz.c $(LIBOBJS)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)
fuzz-targets:
	$(MAKE) BUILD=$(BUILD)/fuzz CC=clang SANITIZE="$(FUZZ_FLAGS)" \
	    $(BUILD)/fuzz/dev-fuzz $(BUILD)/fuzz/pci-fuzz
# $(call run_seeded,NAME,SECONDS,RSS_MB): run $(BUILD)/fuzz/NAME-fuzz from
# fresh seeds (tests/fuzz/NAME_seeds.py) and the corpus of earlier runs.
define run_seeded
	rm -rf $(BUILD)/fuzz/$(1)-seeds
	python3 tests/fuzz/$(1)_seeds.py $(BUILD)/fuzz/$(1)-seeds
	mkdir -p $(BUILD)/fuzz/$(1)-corpus
	$(BUILD)/fuzz/$(1)-fuzz -max_total_time=$(2) -rss_limit_mb=$(3) \
	    -artifact_prefix=$(BUILD)/fuzz-$(1)- \
	    $(BUILD)/fuzz/$(1)-corpus $(BUILD)/fuzz/$(1)-seeds
endef
fuzz: $(BUILD)/vq-fuzz $(BUILD)/nvl-fuzz fuzz-targets
	$(BUILD)/vq-fuzz -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 \
	    -artifact_prefix=$(BUILD)/fuzz-
	$(BUILD)/nvl-fuzz -max_total_time=$(FUZZ_NVL_SECONDS) -rss_limit_mb=1024 \
	    -artifact_prefix=$(BUILD)/fuzz-nvl-
	$(call run_seeded,dev,$(FUZZ_DEV_SECONDS),1024)
	$(call run_seeded,pci,$(FUZZ_PCI_SECONDS),2048)
guests:
	$(MAKE) -C tests/kvm/guests

test: all $(UNIT_BIN) guests
	tests/run.sh

clean:
	rm -rf $(BUILD)
	$(MAKE) -C tests/kvm/guests clean

-include $(OBJS:.o=.d)
