#!/usr/bin/env bash
# usage: tests/sshd.sh install | start DIR | stop DIR -- a key-only sshd on 127.0.0.1 for tests.
#
# start prints the ssh command to reach it ("ssh -p PORT -i KEY ..."),
# usable as a GNU parallel sshlogin.  Everything lives in DIR; stop
# kills the daemon by its PID file.
set -euo pipefail

install() {
	command -v /usr/sbin/sshd >/dev/null && return 0
	local added=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then	# keep init scripts from starting sshd
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		added=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server >/dev/null 2>&1 ||
	    { apt-get update -q >/dev/null 2>&1 &&
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server >/dev/null 2>&1; } || true
	[ -n "$added" ] && rm -f /usr/sbin/policy-rc.d
	command -v /usr/sbin/sshd >/dev/null || { echo "cannot install openssh-server" >&2; exit 1; }
}

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
	local dir=$1 port
	[ -x /usr/sbin/sshd ] || { echo "sshd not installed" >&2; exit 1; }
	mkdir -p "$dir" /run/sshd
	dir=$(cd "$dir" && pwd)
	chmod 700 "$dir"
	ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
	ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"
	cp "$dir/client_key.pub" "$dir/authorized_keys"
	port=$(free_port)
	cat >"$dir/sshd_config" <<-CONF
	ListenAddress 127.0.0.1
	Port $port
	HostKey $dir/host_key
	PidFile $dir/sshd.pid
	AuthorizedKeysFile $dir/authorized_keys
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	PubkeyAuthentication yes
	PermitRootLogin prohibit-password
	StrictModes no
	UsePAM no
	AcceptEnv *
	CONF
	/usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
	local _
	for _ in $(seq 50); do
		[ -s "$dir/sshd.pid" ] && break
		sleep 0.1
	done
	local ssh="ssh -p $port -i $dir/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes"
	$ssh "$(id -un)@127.0.0.1" true || { echo "sshd on port $port does not answer" >&2; stop "$dir"; exit 1; }
	echo "$ssh $(id -un)@127.0.0.1"
}

stop() {
	local dir=$1
	[ -f "$dir/sshd.pid" ] && kill "$(cat "$dir/sshd.pid")" 2>/dev/null
	rm -rf "$dir"
}

case ${1:-} in
install) install ;;
start) start "$2" ;;
stop) stop "$2" ;;
*) echo "usage: tests/sshd.sh install | start DIR | stop DIR" >&2; exit 1 ;;
esac
