# Sourced by run.sh and bench.sh: a fleet of Postfix hosts reached over real SSH.
#
#   sshfleet_up DIR N   makes N hosts h01..hNN and a controller, each a network namespace of
#                       its own, and starts one sshd per host on the host's own address;
#                       writes DIR/hosts ("name address" lines) and DIR/ssh/id_ed25519.
#   sshfleet_down DIR   stops every sshd, deletes the namespaces, the login user and its sudo
#                       rule. Safe to call twice and after a partial sshfleet_up (run.sh calls
#                       it from an EXIT trap).
#
# Nothing touches the machine's own network: the bridge, the veth pairs and the 198.51.100.0/24
# (TEST-NET-2) addresses all live inside the test's namespaces, and ansible-playbook runs in the
# controller namespace (sshfleet_exec). The login user is unprivileged; modules reach root with
# become (sudo), as in production.

# The login user is made per run (its name carries the run id), so that runs never share one.
SSHFLEET_NET=198.51.100

# Namespace names carry the pid of the shell that made them, so that two runs never collide.
sshfleet_ns() { echo "pftls-ans-$(cat "$1/run-id")-$2"; }

# Runs a command in the controller namespace.
sshfleet_exec() {
  local dir=$1
  shift
  ip netns exec "$(sshfleet_ns "$dir" ctl)" "$@"
}

sshfleet_up() {
  local dir=$1 count=$2 i name ns addr
  echo "$$" >"$dir/run-id"
  local user="pftls-ans-$$"
  : >"$dir/hosts"
  mkdir -p "$dir/ssh"
  # sshd reads authorized_keys as the login user: the path to it must be traversable.
  chmod 755 "$dir" "$dir/ssh"
  ssh-keygen -q -t ed25519 -N '' -C pftls-ansible-test -f "$dir/ssh/id_ed25519"
  cp "$dir/ssh/id_ed25519.pub" "$dir/ssh/authorized_keys"
  chmod 644 "$dir/ssh/authorized_keys"

  # The login user: a fresh one per run, home under DIR (ansible's remote_tmp lives there).
  # Password '*': no password login, but not "locked" (sshd refuses locked accounts).
  useradd --home-dir "$dir/home" --create-home --shell /bin/sh --user-group \
    --password '*' "$user"
  echo "$user" >"$dir/created-user"
  printf '%s ALL=(ALL:ALL) NOPASSWD: ALL\n' "$user" >"/etc/sudoers.d/$user"
  chmod 440 "/etc/sudoers.d/$user"
  # sshd's privilege separation directory (made by the ssh service, which does not run here).
  mkdir -p /run/sshd && chmod 755 /run/sshd

  ns=$(sshfleet_ns "$dir" ctl)
  ip netns add "$ns"
  echo "$ns" >>"$dir/namespaces"
  ip -n "$ns" link set lo up
  ip -n "$ns" link add br0 type bridge
  ip -n "$ns" addr add "$SSHFLEET_NET.1/24" dev br0
  ip -n "$ns" link set br0 up

  for i in $(seq 1 "$count"); do
    name=$(printf 'h%02d' "$i")
    addr="$SSHFLEET_NET.$((10 + i))"
    ns=$(sshfleet_ns "$dir" "$name")
    ip netns add "$ns"
    echo "$ns" >>"$dir/namespaces"
    ip -n "$ns" link set lo up
    # One veth pair: "eth0" in the host, "$name" on the controller's bridge.
    ip link add "$name" netns "$(sshfleet_ns "$dir" ctl)" type veth peer name eth0 netns "$ns"
    ip -n "$(sshfleet_ns "$dir" ctl)" link set "$name" master br0 up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up

    mkdir -p "$dir/hosts.d/$name"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/hosts.d/$name/ssh_host_ed25519_key"
    cat >"$dir/hosts.d/$name/sshd_config" <<CFG
ListenAddress $addr:22
HostKey $dir/hosts.d/$name/ssh_host_ed25519_key
PidFile $dir/hosts.d/$name/sshd.pid
AuthorizedKeysFile $dir/ssh/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $user
MaxSessions 20
MaxStartups 50
LogLevel ERROR
Subsystem sftp internal-sftp
CFG
    ip netns exec "$ns" /usr/sbin/sshd -f "$dir/hosts.d/$name/sshd_config" \
      -E "$dir/hosts.d/$name/sshd.log"
    echo "$name $addr" >>"$dir/hosts"
  done

  # Every sshd answers (bounded wait), over the bridge, as the login user.
  local tries ok
  while read -r name addr; do
    ok=
    for tries in $(seq 1 50); do
      if sshfleet_exec "$dir" ssh -q -i "$dir/ssh/id_ed25519" -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=2 \
        "$user@$addr" true 2>/dev/null; then
        ok=1
        break
      fi
      sleep 0.1
    done
    [ -n "$ok" ] || { echo "sshfleet: $name ($addr) does not answer over ssh" >&2; return 1; }
  done <"$dir/hosts"
}

sshfleet_down() {
  local dir=$1 pidfile pid ns
  [ -d "$dir" ] || return 0
  for pidfile in "$dir"/hosts.d/*/sshd.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    # Only our sshd: the pid's command line names our config file.
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$dir/hosts.d/"; then
      kill "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  if [ -f "$dir/namespaces" ]; then
    while read -r ns; do
      # Whatever still runs in a test namespace (an sshd session, a module) is ours.
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    done <"$dir/namespaces"
    rm -f "$dir/namespaces"
  fi
  if [ -f "$dir/created-user" ]; then
    rm -f "/etc/sudoers.d/$(cat "$dir/created-user")"
    userdel -r "$(cat "$dir/created-user")" >/dev/null 2>&1 || true
    rm -f "$dir/created-user"
  fi
}
