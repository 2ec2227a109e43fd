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

.PHONY: all clean test unit asan-unit kvm e2e guests fuzz
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

# libFuzzer targets for the virtqueue chain validator and the control
# socket's list unpacking (clang), run bounded.
FUZZ_SECONDS ?= 30
FUZZ_NVL_SECONDS ?= 10
$(BUILD)/vq-fuzz: tests/fuzz/vq_fuzz.c src/virtio/queue.c src/vmm/mem.c
	@mkdir -p $(BUILD)
	clang -g -O1 -Isrc -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	    -o $@ $^
$(BUILD)/nvl-fuzz: tests/fuzz/nvl_fuzz.c src/nvlist.c
	@mkdir -p $(BUILD)
	clang -g -O1 -Isrc -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	    -o $@ $^
fuzz: $(BUILD)/vq-fuzz $(BUILD)/nvl-fuzz
	$(BUILD)/vq-fuzz -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 \
	    -artifact_prefix=$(BUILD)/fuzz-
	$(BUILD)/nvl-fuzz -max_total_time=$(FUZZ_NVL_SECONDS) -rss_limit_mb=1024 \
	    -artifact_prefix=$(BUILD)/fuzz-nvl-
guests:
	$(MAKE) -C tests/kvm/guests

test: all $(UNIT_BIN) guests
	tests/run.sh

clean:
	rm -rf $(BUILD)
	$(MAKE) -C tests/kvm/guests clean

-include $(OBJS:.o=.d)
