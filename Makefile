# bhyve for Linux
CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Wshadow -Wno-unused-parameter \
	-D_GNU_SOURCE -Isrc -MMD -MP
LDLIBS += -lpthread -llzma -lz -lzstd -lslirp -lmd

BUILD := build
SRCS := $(wildcard src/*.c src/*/*.c)
OBJS := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIBOBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BIN := $(BUILD)/unit-tests

.PHONY: all clean test unit kvm e2e guests
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
guests:
	$(MAKE) -C tests/kvm/guests

test: all $(UNIT_BIN) guests
	tests/run.sh

clean:
	rm -rf $(BUILD)
	$(MAKE) -C tests/kvm/guests clean

-include $(OBJS:.o=.d)
