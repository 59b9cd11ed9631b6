import { html, type SafeHtml } from './html.js';
import { ASSETS_PATH } from './run-page-assets.js';

export interface Viewer {
  login: string;
}

/** Every page's frame: one stylesheet and one script of our origin, nothing inline. */
export function layout(options: {
  title: string;
  crumbs: SafeHtml;
  viewer: Viewer | null;
  csrf?: string;
  body: SafeHtml;
}): string {
  const user = options.viewer
    ? html`<span class="user">${options.viewer.login}</span><form method="post" action="/logout"><input type="hidden" name="csrf" value="${options.csrf ?? ''}"><button type="submit">Sign out</button></form>`
    : '';
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer"><title>${options.title} · Pullwright</title><link rel="stylesheet" href="${ASSETS_PATH}/run-page.css"></head><body><header class="top"><span class="brand">Pullwright</span><div class="crumbs">${options.crumbs}</div>${user}</header><main>${options.body}</main><script src="${ASSETS_PATH}/run-page.js"></script></body></html>`}`;
}
