// Restores lock entries for platform-specific optional packages (other OSes/CPUs) that
// `npm install` leaves out when the registry it reaches does not serve them; without
// them `npm ci` refuses the lock as out of sync. Run after `npm install`: node scripts/lockfile-platforms.cjs
const fs = require('node:fs');
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'));
const pk = lock.packages;
const meta = {
  'android-arm64': { os: ['android'], cpu: ['arm64'] },
  'android-x64': { os: ['android'], cpu: ['x64'] },
  'darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'linux-arm64-musl': { os: ['linux'], cpu: ['arm64'], libc: ['musl'] },
  'linux-x64-musl': { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
  'win32-arm64': { os: ['win32'], cpu: ['arm64'] },
  'win32-x64': { os: ['win32'], cpu: ['x64'] },
  'linux-arm': { os: ['linux'], cpu: ['arm'] },
};
let added = 0;
for (const [path, entry] of Object.entries(pk)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies || {})) {
    const key = `node_modules/${name}`;
    if (pk[key] || pk[`${path}/node_modules/${name}`]) continue;
    const suffix = Object.keys(meta).find((s) => name.endsWith(`-${s}`));
    if (!suffix) {
      console.log('unknown platform', name);
      continue;
    }
    pk[key] = { version: spec.replace(/^[\^~]/, ''), dev: entry.dev, optional: true, ...meta[suffix] };
    if (!pk[key].dev) delete pk[key].dev;
    added++;
    console.log('added', key, pk[key].version);
  }
}
const sorted = {};
for (const k of Object.keys(pk).sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))))
  sorted[k] = pk[k];
lock.packages = sorted;
fs.writeFileSync('package-lock.json', JSON.stringify(lock, null, 2) + '\n');
console.log(added);
