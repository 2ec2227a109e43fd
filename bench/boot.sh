#!/bin/bash
# Boot benchmark: wall time from VMM process start to exit, and memory, for the
# same Debian kernel + guest initramfs (whose /init prints BHYVE-GUEST-UP and
# runs "reboot -f" at once), under QEMU -M pc, QEMU -M microvm (QEMU 7.2,
# bookworm's, unpacked by bench/qemu72.sh) and our bhyve,
# all in ONE run of the nested test host (tests/e2e/testhost.sh).
#
#   bench/boot.sh                 run on the development/CI machine
#
# BENCH_REPS rounds, each one counted run of every VMM, the order reversed
# every other round; each figure is the median of its runs.
#
# Environment: BENCH_REPS (default 3), BENCH_VMMS (default "qemu-pc qemu-microvm
# bhyve"), BHYVE (default build/bhyve of this checkout), BENCH_LOGDIR (where the
# guest console logs and results.txt go; default a fresh /tmp/bhyve-bench-boot.*).
#
# Memory columns:
#   peak_rss   maximum resident set size of the VMM process (GNU time %M), median.
#   overhead   RSS minus guest memory: from a separate run sampling /proc/PID/smaps
#              every 0.2 s, max over samples of (sum of Rss of all mappings) minus
#              (Rss of the mappings at least as large as 90% of the guest memory,
#              i.e. the guest RAM).  Sampling can miss a short peak.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

if [ -z "${BHYVE_TESTHOST:-}" ]; then
	logdir=$(bench_logdir boot)
	if [ ! -x /usr/bin/time ]; then
		sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
		$sudo apt-get install -y time >&2 || { $sudo apt-get update >&2 && $sudo apt-get install -y time >&2; }
	fi
	echo "bench: logs in $logdir"
	# shellcheck disable=SC2034  # bench_env reads it
	BENCH_QEMU=$("$here/qemu72.sh")
	bench_env "$logdir" BENCH_QEMU BENCH_REPS BENCH_VMMS BHYVE BENCH_APPEND \
		BENCH_TIMEOUT
	bench_in_testhost "$logdir" 3600 "$here/boot.sh" "$@"
fi
# shellcheck disable=SC1091
. "$BHYVE_TEST_RUNDIR/bench.env"
qemu=$BENCH_QEMU

reps=${BENCH_REPS:-3}
vmms=${BENCH_VMMS:-qemu-pc qemu-microvm bhyve}
bhyve=${BHYVE:-$root/build/bhyve}
logdir=${BHYVE_TEST_RUNDIR:-/tmp}
mem_mb=256
cmdline="console=ttyS0 bhyvetest=reboot${BENCH_APPEND:+ $BENCH_APPEND}"
timeout_s=${BENCH_TIMEOUT:-180}
results="$logdir/results.txt"
: >"$results"

vmm_cmd() { # NAME -> sets array CMD
	case $1 in
	qemu-pc | qemu-microvm)
		CMD=("$qemu" -enable-kvm -M "${1#qemu-}" -m "$mem_mb" -nographic -no-reboot
			-kernel "$KERNEL" -initrd "$GUEST_INITRD" -append "$cmdline") ;;
	bhyve)
		CMD=("$bhyve" -H -P -c 1 -m "${mem_mb}M" -s "0,hostbridge" -s "31,lpc" -l "com1,stdio"
			-o "boot.kernel=$KERNEL" -o "boot.initrd=$GUEST_INITRD" -o "boot.cmdline=$cmdline" benchvm) ;;
	*) echo "unknown VMM $1" >&2; return 1 ;;
	esac
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
marker_uptime() { tr -d '\r' <"$1" | sed -n 's/^BHYVE-GUEST-UP .* uptime=\([0-9.]*\).*/\1/p' | head -n1; }

# one timed run: prints "wall_ms peak_rss_kb exit_status guest_uptime";
# returns 1 without the marker, 2 if the VMM had to be killed (hung)
timed_run() { # NAME LOG
	local tf t0 t1 rc=0 up
	tf=$(mktemp)
	t0=$(date +%s%N)
	/usr/bin/time -f %M -o "$tf" timeout "$timeout_s" "${CMD[@]}" </dev/null >"$2" 2>&1 || rc=$?
	t1=$(date +%s%N)
	up=$(marker_uptime "$2")
	echo "$(( (t1 - t0) / 1000000 )) $(tail -n1 "$tf") $rc ${up:-none}"
	rm -f "$tf"
	[ -n "$up" ] || return 1
	[ "$rc" != 124 ] && [ "$rc" != 137 ] || return 2
}

# one sampled run: prints "max_rss_kb max_overhead_kb"
sampled_run() { # NAME LOG
	local pid s max_rss=0 max_ovh=0 total guest
	"${CMD[@]}" </dev/null >"$2" 2>&1 &
	pid=$!
	( sleep "$timeout_s"; kill "$pid" 2>/dev/null ) &
	local killer=$!
	while s=$(awk -v lim=$((mem_mb * 1024 * 9 / 10)) '
			/^[0-9a-f]+-[0-9a-f]+ / { cur = 0; next }
			/^Size:/ { cur = ($2 >= lim) }
			/^Rss:/ { t += $2; if (cur) g += $2 }
			END { if (t > 0) print t + 0, g + 0 }' "/proc/$pid/smaps" 2>/dev/null) && [ -n "$s" ]; do
		read -r total guest <<<"$s"
		[ "$total" -gt "$max_rss" ] && max_rss=$total
		[ $((total - guest)) -gt "$max_ovh" ] && max_ovh=$((total - guest))
		sleep 0.2
	done
	wait "$pid" || true
	kill "$killer" 2>/dev/null || true
	wait "$killer" 2>/dev/null || true
	[ -n "$(marker_uptime "$2")" ] || return 1
	echo "$max_rss $max_ovh"
}

ensure_time() {
	[ -x /usr/bin/time ] && return 0
	echo "bench: /usr/bin/time missing (install the Debian package 'time' on the host)" >&2
	return 1
}

qemu_version=$("$qemu" --version | head -n1)
echo "bench: compared against $qemu_version (bench/qemu72.sh)"
echo "bench: kernel $KVER, guest initrd $(basename "$GUEST_INITRD"), ${mem_mb} MiB, $reps runs each, test host $(nproc) cpus"
ensure_time
# The VMMs' console output goes to the test host's own memory (copied to
# the run dir after each run): the run dir is a 9p share of the host,
# where each write(2) is a round trip to it, and QEMU writes its console a
# byte per write(2).  Until 2026-11-28 the logs went to the share (QEMU
# -M pc took 19-22 s with its console on a pipe in a probe that day, and
# 24-48 s in the benchmark runs around it).
tmplogs=$(mktemp -d)
declare -A WALL RSS OVH UP STATUS WALLS RSSS UPS HUNG
for v in $vmms; do
	if [ "$v" = bhyve ] && [ ! -x "$bhyve" ]; then
		STATUS[$v]="skipped: $bhyve not built"
		echo "bench: $v: ${STATUS[$v]}"
	fi
	HUNG[$v]=0
done
# Rounds: one counted run of each VMM per round, the order reversed every
# other round, so that a drift of the test host's speed during the run
# favours no VMM (it ran each VMM's runs back to back before 2026-11-28,
# bhyve's last).  A hung run (the VMM did not exit) is tried once more.
# shellcheck disable=SC2086
reversed=$(printf '%s\n' $vmms | tac | tr '\n' ' ')
for r in $(seq 1 "$reps"); do
	order=$vmms
	[ $((r % 2)) = 0 ] && order=$reversed
	for v in $order; do
		[ -n "${STATUS[$v]:-}" ] && continue
		vmm_cmd "$v"
		for a in 1 2; do
			logf="$logdir/$v-$r-$a.log"
			tmpf="$tmplogs/$v-$r-$a.log"
			# (a line before every silent stretch: the test host
			# ends a run that prints nothing for 300 s, and a hung
			# run lasts timeout_s)
			echo "bench: round $r: $v, at most ${timeout_s} s"
			trc=0
			out=$(timed_run "$v" "$tmpf") || trc=$?
			cp "$tmpf" "$logf"
			read -r w m rc up <<<"$out"
			if [ "$trc" = 1 ]; then
				STATUS[$v]="FAILED: no BHYVE-GUEST-UP marker (exit $rc), see $logf"
				echo "bench: round $r: $v: ${STATUS[$v]}"
				tr -d '\r' <"$logf" | tail -n 15 | sed 's/^/    /'
				break
			elif [ "$trc" = 2 ]; then
				HUNG[$v]=$((HUNG[$v] + 1))
				echo "bench: round $r: $v: guest reached the marker but the VMM did not exit within ${timeout_s} s (not counted), see $logf"
				tr -d '\r' <"$logf" | grep -A3 -m1 -E 'machine restart|internal error' | sed 's/^/    /' || true
				continue
			fi
			echo "bench: round $r: $v: ${w} ms wall, peak RSS ${m} KiB, exit $rc, guest uptime at marker ${up} s"
			WALLS[$v]+=" $w" RSSS[$v]+=" $m" UPS[$v]+=" $up"
			break
		done
	done
done
for v in $vmms; do
	[ -n "${STATUS[$v]:-}" ] && continue
	if [ -z "${WALLS[$v]:-}" ]; then
		STATUS[$v]="FAILED: hung ${HUNG[$v]} times"
		continue
	fi
	# shellcheck disable=SC2086
	WALL[$v]=$(printf '%s\n' ${WALLS[$v]} | median)
	# shellcheck disable=SC2086
	RSS[$v]=$(printf '%s\n' ${RSSS[$v]} | median)
	# shellcheck disable=SC2086
	UP[$v]=$(printf '%s\n' ${UPS[$v]} | median)
	vmm_cmd "$v"
	echo "bench: $v: a run sampled for the VMM's own memory"
	s=$(sampled_run "$v" "$tmplogs/$v-sampled.log") || s=
	cp "$tmplogs/$v-sampled.log" "$logdir/"
	if [ -n "$s" ]; then
		read -r _ o <<<"$s"
		OVH[$v]=$o
	else
		OVH[$v]=n/a
	fi
	# shellcheck disable=SC2086
	n=$(printf '%s\n' ${WALLS[$v]} | wc -l)
	STATUS[$v]="ok ($n runs$([ "${HUNG[$v]}" = 0 ] || echo ", ${HUNG[$v]} hung runs not counted"))"
done

{
	echo
	echo "QEMU: $qemu_version"
	echo "kernel $KVER; ${mem_mb} MiB guest; cmdline \"$cmdline\"; median of $reps alternating rounds; $(date -u +%Y-%m-%dT%H:%MZ)"
	printf '%-14s %10s %12s %14s %16s  %s\n' vmm wall_ms guest_up_s peak_rss_KiB rss-guest_KiB status
	for v in $vmms; do
		printf '%-14s %10s %12s %14s %16s  %s\n' "$v" "${WALL[$v]:-n/a}" "${UP[$v]:-n/a}" \
			"${RSS[$v]:-n/a}" "${OVH[$v]:-n/a}" "${STATUS[$v]:-n/a}"
	done
	ratio() { # A B -> A/B
		if [[ "${1:-}" =~ ^[0-9.]+$ ]] && [[ "${2:-}" =~ ^[0-9.]+$ ]] && [ "$2" != 0 ]; then
			awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
		else echo n/a; fi
	}
	for ref in qemu-pc qemu-microvm; do
		echo "bhyve/$ref: wall $(ratio "${WALL[bhyve]:-}" "${WALL[$ref]:-}")," \
			"peak RSS $(ratio "${RSS[bhyve]:-}" "${RSS[$ref]:-}")," \
			"RSS-guest $(ratio "${OVH[bhyve]:-}" "${OVH[$ref]:-}")"
	done
} | tee -a "$results"
echo "bench: guest console logs and results.txt in $logdir"
