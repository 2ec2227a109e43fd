# Helpers for end-to-end tests run inside the test host (source this file).
# shellcheck shell=bash

# console_session LOG MARKER INPUT TIMEOUT CMD [ARGS...]
#   Runs CMD (a VMM whose stdin is the guest's serial input and whose stdout is
#   the guest's serial output) with its output in LOG; once LOG contains MARKER
#   (a fixed string, e.g. BHYVE-GUEST-SHELL), writes INPUT to its stdin.
#   Returns CMD's exit status (124 on timeout).
#   Why not simply "printf ... | VMM": bytes that reach the emulated UART before
#   the guest opened its console are eaten by the 8250 driver's probing and FIFO
#   resets (measured with QEMU: a whole 37-byte line was lost).
console_session() {
	local logf=$1 marker=$2 input=$3 to=$4 fifo fd pid rc=0 sent=
	shift 4
	fifo=$(mktemp -u "${TMPDIR:-/tmp}/console.XXXXXX")
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	rm -f "$fifo"
	timeout "$to" "$@" <&"$fd" >"$logf" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ -z "$sent" ] && grep -qaF -- "$marker" "$logf"; then
			printf '%s' "$input" >&"$fd"
			sent=1
		fi
		sleep 0.2
	done
	wait "$pid" || rc=$?
	exec {fd}>&-
	return "$rc"
}

# now_ns / elapsed_ms START_NS END_NS
now_ns() { date +%s%N; }
elapsed_ms() { echo $(( ($2 - $1) / 1000000 )); }
