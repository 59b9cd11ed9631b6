/**
 * Small bash programs the provider runs inside the container through their own
 * exec. They are sent with each call instead of being baked into the image, so a
 * repository's own image built FROM ours (or any image with bash) works unchanged.
 */

/** Environment variable that tags every process started by one `exec` call. */
export const EXEC_MARKER_VAR = 'PW_EXEC_ID';

/**
 * Kills every process of one exec: those carrying its marker in their environment
 * (inherited by children, daemons and `setsid` escapes alike) and every member of
 * their sessions (catching children that cleared their environment). Docker gives
 * each exec its own session. Builtins only: under a fork bomb at the pids limit no
 * new process could be started to help, so the loop never forks. Zombies are
 * skipped (they are already dead and tini reaps them).
 */
export const KILL_TREE_SCRIPT = `
marker="${EXEC_MARKER_VAR}=$1"
declare -A sids=()
round=0
while [ $round -lt 40 ]; do
  round=$((round + 1))
  victims=()
  for d in /proc/[0-9]*; do
    p=\${d#/proc/}
    [ "$p" = "$$" ] && continue
    [ "$p" = 1 ] && continue
    stat=""
    { read -r stat < "$d/stat"; } 2>/dev/null || continue
    rest=\${stat##*) }
    parts=($rest)
    [ "\${parts[0]}" = Z ] && continue
    sid=\${parts[3]}
    if [ -n "\${sids[$sid]+x}" ]; then victims+=("$p"); continue; fi
    env=()
    { mapfile -d '' -t env < "$d/environ"; } 2>/dev/null || continue
    for e in "\${env[@]}"; do
      if [ "$e" = "$marker" ]; then sids[$sid]=1; victims+=("$p"); break; fi
    done
  done
  [ \${#victims[@]} -eq 0 ] && exit 0
  kill -KILL "\${victims[@]}" 2>/dev/null
done
exit 1
`;

/**
 * Prints the container's count of OOM kills (cgroup v2 `memory.events`, or v1
 * `memory.oom_control`), or -1 when neither is readable.
 */
export const OOM_COUNT_SCRIPT = `
for f in /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; do
  if [ -r "$f" ]; then
    while read -r k v; do
      if [ "$k" = oom_kill ]; then echo "$v"; exit 0; fi
    done < "$f"
  fi
done
echo -1
`;

/** Writes stdin to the file named by $1 (relative to the cwd), creating parent folders. */
export const WRITE_FILE_SCRIPT = `
target="$1"
case "$target" in */*) mkdir -p -- "\${target%/*}" || exit 1 ;; esac
cat > "$target"
`;

/**
 * Listens on 127.0.0.1:3128 inside the sandbox and relays each connection to the
 * worker's egress proxy over the mounted unix socket. The sandbox itself has no
 * network interface but loopback, so this relay is its only way out, and the proxy
 * on the other end decides. Killing or replacing the relay only cuts the agent off.
 */
export const EGRESS_RELAY_SOURCE = `
const net = require('node:net');
const socketPath = process.argv[1];
net.createServer((client) => {
  const upstream = net.connect(socketPath);
  client.pipe(upstream).pipe(client);
  const close = () => { client.destroy(); upstream.destroy(); };
  client.on('error', close);
  upstream.on('error', close);
}).listen(3128, '127.0.0.1');
`;
