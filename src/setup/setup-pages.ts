import type { AppManifest } from './app-manifest.js';
import type { AppRegistration } from './convert-manifest.js';

/** The setup flow's HTML: plain, script-free pages (the server's CSP allows no script). */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Pullwright</title>
<style>
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;background:#f6f8fa;margin:0}
main{max-width:44rem;margin:2.5rem auto;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1.5rem 2rem}
h1{font-size:1.5rem;margin:.2rem 0 1rem}code,pre{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;border-radius:4px}
code{padding:.1rem .3rem}pre{padding:.8rem;overflow:auto}
button{font:inherit;font-weight:600;background:#1f883d;color:#fff;border:1px solid #1a7f37;border-radius:6px;padding:.5rem 1rem;cursor:pointer}
input{font:inherit;padding:.35rem .5rem;border:1px solid #d0d7de;border-radius:6px}
.muted{color:#59636e;font-size:.9rem}.error{color:#d1242f}.ok{color:#1a7f37}
ul{padding-left:1.2rem}li{margin:.15rem 0}
</style></head><body><main>${body}</main></body></html>`;
}

export function renderSetup(input: {
  manifest: AppManifest;
  state: string;
  webUrl: string;
  envPath: string;
}): string {
  const m = input.manifest;
  const perms = Object.entries(m.default_permissions)
    .map(([k, v]) => `<li><code>${escapeHtml(k)}</code>: ${escapeHtml(v)}</li>`)
    .join('');
  return layout(
    'Set up Pullwright',
    `<h1>Set up Pullwright</h1>
<p>Pullwright has no GitHub App yet. Register one from <code>app.yml</code>: GitHub shows you the app
before it is created, then sends you back here and Pullwright writes its credentials into
<code>${escapeHtml(input.envPath)}</code> (readable by you only).</p>
<ul>
<li>GitHub: <code>${escapeHtml(input.webUrl)}</code></li>
<li>Webhook URL: <code id="webhook-url">${escapeHtml(m.hook_attributes.url)}</code></li>
<li>Sign-in callback: <code>${escapeHtml(m.callback_urls[0] ?? '')}</code></li>
<li>Events: ${m.default_events.map((e) => `<code>${escapeHtml(e)}</code>`).join(' ')}</li>
<li>Permissions:<ul>${perms}</ul></li>
</ul>
<form method="post" action="/setup/register?state=${escapeHtml(input.state)}">
<input type="hidden" name="manifest" value="${escapeHtml(JSON.stringify(m))}">
<p><label>Organization (optional; empty registers it on your own account)<br>
<input name="organization" id="organization" placeholder="my-org" autocomplete="off"></label></p>
<button type="submit" id="register">Register GitHub App</button>
</form>
<p class="muted">Prefer to do it by hand? Create an app with the permissions above and set <code>APP_ID</code>,
<code>PRIVATE_KEY_PATH</code> and <code>WEBHOOK_SECRET</code> (README, "Run it against real GitHub").</p>`,
  );
}

export function renderDone(app: AppRegistration, options: { envPath: string; webUrl: string }): string {
  const install = `${options.webUrl.replace(/\/+$/, '')}/apps/${encodeURIComponent(app.slug)}/installations/new`;
  return layout(
    'Pullwright is registered',
    `<h1 class="ok">Pullwright is registered</h1>
<p>GitHub App <strong id="app-slug">${escapeHtml(app.slug)}</strong> (id <span id="app-id">${app.id}</span>${
      app.owner ? `, owned by ${escapeHtml(app.owner.login)}` : ''
    }) was created. Its settings are in <code>${escapeHtml(options.envPath)}</code> (mode 0600):
<code>APP_ID</code>, <code>APP_SLUG</code>, <code>PRIVATE_KEY</code>, <code>WEBHOOK_SECRET</code>,
<code>GITHUB_CLIENT_ID</code>, <code>GITHUB_CLIENT_SECRET</code> and <code>SESSION_SECRET</code>.</p>
<h2>Next</h2>
<ol>
<li><strong>Restart Pullwright</strong> (stop this process and run <code>npm run app</code> again, or
<code>docker compose up -d</code>) so it starts with the new app. Start the worker with the same settings.</li>
<li><a id="install" href="${escapeHtml(install)}">Install the app</a> on the repositories it should work on.</li>
<li>Assign an issue to <code>${escapeHtml(app.slug)}[bot]</code> or comment <code>@agent …</code>.</li>
</ol>
<p class="muted">Keep <code>${escapeHtml(options.envPath)}</code> secret: it holds the app's private key.</p>`,
  );
}

export function renderFailure(message: string): string {
  return layout('Setup', `<h1>Pullwright setup</h1><p class="error" role="alert">${escapeHtml(message)}</p>`);
}
