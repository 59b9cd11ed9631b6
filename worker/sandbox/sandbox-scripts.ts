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

/**
 * The in-container exec server (agent containers only, see exec-server.ts): reads one
 * JSON request per line on stdin, runs each command in its own session with exactly
 * the environment the request names (plus HOME, LANG and PATH of the container, and
 * the startup-file variables emptied), acknowledges the start at once, and answers
 * with the exit code and output capped at `cap + 1` bytes per stream (pw-exec caps it
 * first). Its stdin/stdout are a Docker exec's attached streams: no socket, port or
 * mount exists for it. It is the agent's own process: the host treats what it says as
 * the agent's word, and kills through Docker, never through it.
 */
export const EXEC_SERVER_SOURCE = `
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const base = { HOME: process.env.HOME || '/home/agent', LANG: process.env.LANG || 'C.UTF-8', PATH: process.env.PATH, BASH_ENV: '', ENV: '' };
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
readline.createInterface({ input: process.stdin, crlfDelay: Infinity }).on('line', (line) => {
  let req;
  try { req = JSON.parse(line); } catch { return; }
  if (req.ping) return send({ id: req.id, pong: true });
  const env = Object.assign({}, base);
  for (const kv of req.env) { const i = kv.indexOf('='); env[kv.slice(0, i)] = kv.slice(i + 1); }
  let child;
  try {
    child = spawn(req.cmd[0], req.cmd.slice(1), { cwd: req.cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    return send({ id: req.id, started: true, exitCode: 127, stdout: '', stderr: Buffer.from(String(e)).toString('base64') });
  }
  send({ id: req.id, started: true });
  const cap = req.cap + 1;
  const bufs = { stdout: [], stderr: [] };
  const sizes = { stdout: 0, stderr: 0 };
  for (const name of ['stdout', 'stderr']) {
    child[name].on('data', (c) => {
      if (sizes[name] >= cap) return;
      const take = c.subarray(0, cap - sizes[name]);
      bufs[name].push(take);
      sizes[name] += take.length;
    });
  }
  let spawnError = null;
  child.on('error', (e) => { spawnError = e; });
  child.stdin.on('error', () => {});
  child.stdin.end(req.stdin ? Buffer.from(req.stdin, 'base64') : undefined);
  child.on('close', (code, signal) => {
    const sig = signal ? require('node:os').constants.signals[signal] || 9 : 0;
    send({
      id: req.id,
      exitCode: spawnError ? (spawnError.code === 'ENOENT' ? 127 : 126) : code === null ? 128 + sig : code,
      stdout: Buffer.concat(bufs.stdout).toString('base64'),
      stderr: Buffer.concat(bufs.stderr).toString('base64'),
    });
  });
});
`;
