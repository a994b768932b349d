#!/usr/bin/env bash
# Usage: tests/s3-server.sh install | start DIR | stop DIR | restart-proxy DIR   (local Swift+s3api S3 server for tests)
#
# A real S3-compatible server for the test suite: OpenStack Swift (Debian 12
# packages) with the s3api and tempauth middlewares, one device, one replica,
# every process bound to 127.0.0.1 and all state (configs, rings, objects, logs,
# PIDs) under DIR.
#
#   install            apt-get the packages (no-op when present), write
#                      /etc/swift/swift.conf if missing. Needs root.
#   start DIR          start memcached, account/container/object servers and the
#                      proxy on free loopback ports, wait until healthy, print
#                        export AWS_ENDPOINT_URL=http://127.0.0.1:PORT AWS_ACCESS_KEY_ID=test:tester ...
#                      on stdout (for eval). Exits non-zero with one line on
#                      stderr when it cannot start (callers skip S3 tests).
#   stop DIR           TERM (then KILL) every PID in DIR/pids, remove DIR.
#   restart-proxy DIR  kill and restart only the proxy, wait until healthy.
#
# Addressing is path-style only (http://127.0.0.1:PORT/bucket/key), region
# us-east-1, SigV4. The access key contains a colon (account:user).
set -euo pipefail

PY=/usr/bin/python3
PACKAGES=(swift swift-proxy swift-object swift-container swift-account python3-swift memcached curl)
ACCESS_KEY=test:tester
SECRET_KEY=testing
REGION=us-east-1
WAIT_SECS=${S3_SERVER_WAIT_SECS:-30}
MARKER=.thoth-s3-server

die() {
	echo "s3-server: $*" >&2
	exit 1
}

usage() {
	echo "usage: $0 install | start DIR | stop DIR | restart-proxy DIR" >&2
	exit 2
}

# ---------------------------------------------------------------- install

missing_packages() {
	local p st
	for p in "${PACKAGES[@]}"; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		[[ $st == "install ok installed" ]] || echo "$p"
	done
}

write_swift_conf() {
	[[ -f /etc/swift/swift.conf ]] && return 0
	mkdir -p /etc/swift
	cat >/etc/swift/swift.conf <<-'EOF'
		# Written by thoth tests/s3-server.sh (test-only Swift cluster).
		[swift-hash]
		swift_hash_path_prefix = thoth-test-prefix
		swift_hash_path_suffix = thoth-test-suffix

		[storage-policy:0]
		name = Policy-0
		default = yes
	EOF
}

cmd_install() {
	local missing policy=/usr/sbin/policy-rc.d created_policy=0
	mapfile -t missing < <(missing_packages)
	if ((${#missing[@]})); then
		[[ $(id -u) -eq 0 ]] || die "packages missing (${missing[*]}) and not root: run '$0 install' as root"
		# Keep Debian's init scripts / systemd units from starting the services.
		if [[ ! -e $policy ]]; then
			printf '#!/bin/sh\nexit 101\n' >"$policy"
			chmod 755 "$policy"
			created_policy=1
			# shellcheck disable=SC2064 # expand now: fixed path
			trap "rm -f '$policy'" EXIT
		fi
		export DEBIAN_FRONTEND=noninteractive
		local apt=(apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
		if ! "${apt[@]}" install --no-install-recommends "${missing[@]}" >/dev/null; then
			apt-get -q update >/dev/null
			"${apt[@]}" install --no-install-recommends "${missing[@]}" >/dev/null ||
				die "apt-get install ${missing[*]} failed"
		fi
		if ((created_policy)); then
			rm -f "$policy"
			trap - EXIT
		fi
	fi
	if [[ ! -f /etc/swift/swift.conf ]]; then
		[[ $(id -u) -eq 0 ]] || die "/etc/swift/swift.conf missing and not root"
		write_swift_conf
	fi
}

# ---------------------------------------------------------------- helpers

abs_dir() {
	[[ -n ${1:-} ]] || usage
	[[ $1 == /* ]] && printf '%s\n' "${1%/}" || printf '%s/%s\n' "$PWD" "${1%/}"
}

# A zombie counts as dead: orphans are reaped by PID 1, sometimes seconds later.
pid_alive() {
	local stat
	[[ -n $1 ]] && kill -0 "$1" 2>/dev/null || return 1
	read -r stat <"/proc/$1/stat" 2>/dev/null || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# Does PID still run the process we recorded (guards against PID reuse)?
pid_is_ours() {
	local pid=$1 name=$2 dir=$3 cmdline
	pid_alive "$pid" || return 1
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	case $name in
	memcached) [[ $cmdline == *memcached* ]] ;;
	*) [[ $cmdline == *"$dir/"* ]] ;;
	esac
}

# kill_pids DIR NAME PID [NAME PID...]: TERM, wait up to 5 s, then KILL.
kill_pids() {
	local dir=$1 i live p
	shift
	local -a names=() pids=()
	while (($#)); do
		if pid_is_ours "$2" "$1" "$dir"; then
			names+=("$1")
			pids+=("$2")
		fi
		shift 2
	done
	((${#pids[@]})) || return 0
	kill -TERM "${pids[@]}" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		live=0
		for p in "${pids[@]}"; do
			pid_alive "$p" && live=1
		done
		((live)) || return 0
		sleep 0.1
	done
	kill -KILL "${pids[@]}" 2>/dev/null || true
	for ((i = 0; i < 20; i++)); do
		live=0
		for p in "${pids[@]}"; do
			pid_alive "$p" && live=1
		done
		((live)) || return 0
		sleep 0.1
	done
}

# read_pids DIR: prints "name pid" words from DIR/pids (if any).
read_pids() {
	if [[ -f $1/pids ]]; then
		cat "$1/pids"
	fi
}

# Five distinct free TCP ports on 127.0.0.1 (held open together while chosen).
free_ports() {
	"$PY" - <<-'EOF'
		import socket
		socks = []
		for _ in range(5):
		    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		    s.bind(("127.0.0.1", 0))
		    socks.append(s)
		print(" ".join(str(s.getsockname()[1]) for s in socks))
		for s in socks:
		    s.close()
	EOF
}

# http_ok URL: true when URL answers 200.
http_ok() {
	curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
}

# wait_healthy DIR NAME:PORT...: bounded wait for each /healthcheck.
wait_healthy() {
	local dir=$1 deadline spec name port pid
	shift
	deadline=$((SECONDS + WAIT_SECS))
	for spec in "$@"; do
		name=${spec%%:*}
		port=${spec#*:}
		until http_ok "http://127.0.0.1:$port/healthcheck"; do
			pid=$(awk -v n="$name" '$1 == n { p = $2 } END { print p }' "$dir/pids")
			pid_alive "$pid" || return 1
			((SECONDS < deadline)) || return 1
			sleep 0.1
		done
	done
}

# ---------------------------------------------------------------- configs

write_configs() {
	local dir=$1 acct_port=$2 cont_port=$3 obj_port=$4 proxy_port=$5 mc_port=$6 user srv port
	user=$(id -un)
	for srv in account container object; do
		case $srv in
		account) port=$acct_port ;;
		container) port=$cont_port ;;
		object) port=$obj_port ;;
		esac
		cat >"$dir/$srv-server.conf" <<-EOF
			[DEFAULT]
			bind_ip = 127.0.0.1
			bind_port = $port
			workers = 0
			user = $user
			swift_dir = $dir
			devices = $dir/srv
			mount_check = false
			disable_fallocate = true
			log_name = $srv-server
			log_level = INFO
			recon_cache_path = $dir/run

			[pipeline:main]
			pipeline = healthcheck $srv-server

			[app:$srv-server]
			use = egg:swift#$srv

			[filter:healthcheck]
			use = egg:swift#healthcheck
		EOF
	done
	cat >"$dir/proxy-server.conf" <<-EOF
		[DEFAULT]
		bind_ip = 127.0.0.1
		bind_port = $proxy_port
		workers = 0
		user = $user
		swift_dir = $dir
		log_name = proxy-server
		log_level = INFO

		[pipeline:main]
		pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo versioned_writes symlink proxy-logging proxy-server

		[app:proxy-server]
		use = egg:swift#proxy
		account_autocreate = true
		allow_account_management = true

		[filter:tempauth]
		use = egg:swift#tempauth
		user_test_tester = testing .admin

		[filter:s3api]
		use = egg:swift#s3api
		location = $REGION
		allow_multipart_uploads = true

		[filter:cache]
		use = egg:swift#memcache
		memcache_servers = 127.0.0.1:$mc_port

		[filter:catch_errors]
		use = egg:swift#catch_errors

		[filter:gatekeeper]
		use = egg:swift#gatekeeper

		[filter:healthcheck]
		use = egg:swift#healthcheck

		[filter:proxy-logging]
		use = egg:swift#proxy_logging

		[filter:listing_formats]
		use = egg:swift#listing_formats

		[filter:bulk]
		use = egg:swift#bulk

		[filter:copy]
		use = egg:swift#copy

		[filter:slo]
		use = egg:swift#slo

		[filter:dlo]
		use = egg:swift#dlo

		[filter:versioned_writes]
		use = egg:swift#versioned_writes

		[filter:symlink]
		use = egg:swift#symlink
	EOF
	# One device, one replica, part power 6.
	"$PY" - "$dir" "$acct_port" "$cont_port" "$obj_port" <<-'EOF'
		import sys
		from swift.common.ring import RingBuilder
		d = sys.argv[1]
		for name, port in zip(("account", "container", "object"), sys.argv[2:5]):
		    b = RingBuilder(6, 1, 1)
		    b.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1",
		               "port": int(port), "device": "sdb1", "weight": 100.0,
		               "meta": ""})
		    b.rebalance()
		    b.get_ring().save("%s/%s.ring.gz" % (d, name))
	EOF
}

# spawn DIR NAME CMD...: start CMD in the background, logging to DIR/log/NAME.log,
# and record "NAME PID" in DIR/pids. stdio never stays attached to ours, so
# $(s3-server.sh start DIR) returns as soon as this script exits.
spawn() {
	local dir=$1 name=$2
	shift 2
	"$@" </dev/null >>"$dir/log/$name.log" 2>&1 &
	echo "$name $!" >>"$dir/pids"
}

start_proxy() {
	spawn "$1" proxy "$PY" /usr/bin/swift-proxy-server "$1/proxy-server.conf" --verbose
}

# ---------------------------------------------------------------- commands

cmd_start() {
	local dir acct cont obj proxy mc srv mc_user=() words
	dir=$(abs_dir "${1:-}")
	[[ -x $PY ]] || die "cannot start: $PY not found"
	local missing
	missing=$(missing_packages | tr '\n' ' ')
	[[ -z $missing ]] || die "cannot start: packages missing (${missing% }); run '$0 install' as root"
	[[ -f /etc/swift/swift.conf ]] || die "cannot start: /etc/swift/swift.conf missing; run '$0 install' as root"
	if [[ -f $dir/pids ]]; then
		mapfile -t words < <(read_pids "$dir" | tr ' ' '\n')
		local i
		for ((i = 0; i + 1 < ${#words[@]}; i += 2)); do
			! pid_is_ours "${words[i + 1]}" "${words[i]}" "$dir" ||
				die "cannot start: a server from $dir is still running (PID ${words[i + 1]}); stop it first"
		done
	fi
	mkdir -p "$dir" || die "cannot start: cannot create $dir"
	: >"$dir/$MARKER"
	: >"$dir/pids"
	mkdir -p "$dir/srv/sdb1" "$dir/log" "$dir/run"
	read -r acct cont obj proxy mc < <(free_ports) || die "cannot start: no free loopback ports"
	write_configs "$dir" "$acct" "$cont" "$obj" "$proxy" "$mc" >"$dir/log/setup.log" 2>&1 ||
		die "cannot start: writing configs/rings failed (see $dir/log/setup.log)"
	echo "$proxy" >"$dir/proxy-port"

	[[ $(id -u) -eq 0 ]] && mc_user=(-u root)
	spawn "$dir" memcached /usr/bin/memcached -l 127.0.0.1 -p "$mc" -U 0 -m 64 "${mc_user[@]}"
	for srv in account container object; do
		spawn "$dir" "$srv" "$PY" "/usr/bin/swift-$srv-server" "$dir/$srv-server.conf" --verbose
	done
	start_proxy "$dir"

	if ! wait_healthy "$dir" "account:$acct" "container:$cont" "object:$obj" "proxy:$proxy"; then
		mapfile -t words < <(read_pids "$dir" | tr ' ' '\n')
		kill_pids "$dir" "${words[@]}"
		die "cannot start: servers not healthy within ${WAIT_SECS}s (logs in $dir/log)"
	fi
	# memcached has no health URL; make sure it is still up.
	local mcpid
	mcpid=$(awk '$1 == "memcached" { print $2 }' "$dir/pids")
	if ! pid_alive "$mcpid"; then
		mapfile -t words < <(read_pids "$dir" | tr ' ' '\n')
		kill_pids "$dir" "${words[@]}"
		die "cannot start: memcached exited (see $dir/log/memcached.log)"
	fi
	echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$proxy AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY AWS_REGION=$REGION"
}

cmd_stop() {
	local dir words=()
	dir=$(abs_dir "${1:-}")
	[[ -e $dir ]] || return 0
	if [[ ! -f $dir/$MARKER ]]; then
		# An empty directory (start failed before using it) is simply removed.
		rmdir -- "$dir" 2>/dev/null && return 0
		die "refusing to stop/remove $dir: not a directory made by '$0 start'"
	fi
	mapfile -t words < <(read_pids "$dir" | tr ' ' '\n')
	kill_pids "$dir" "${words[@]}"
	rm -rf -- "$dir"
}

cmd_restart_proxy() {
	local dir words=() port
	dir=$(abs_dir "${1:-}")
	[[ -f $dir/$MARKER && -f $dir/proxy-port ]] || die "restart-proxy: $dir was not set up by '$0 start'"
	port=$(<"$dir/proxy-port")
	mapfile -t words < <(awk '$1 == "proxy" { print $1; print $2 }' "$dir/pids")
	kill_pids "$dir" "${words[@]}"
	# Forget the old proxy PID, then start a new one.
	awk '$1 != "proxy"' "$dir/pids" >"$dir/pids.new"
	mv "$dir/pids.new" "$dir/pids"
	start_proxy "$dir"
	wait_healthy "$dir" "proxy:$port" || die "restart-proxy: proxy not healthy within ${WAIT_SECS}s (see $dir/log/proxy.log)"
}

case ${1:-} in
install) cmd_install ;;
start) cmd_start "${2:-}" ;;
stop) cmd_stop "${2:-}" ;;
restart-proxy) cmd_restart_proxy "${2:-}" ;;
*) usage ;;
esac
