/**
 * The pages' only stylesheet and script, served as files of our origin: the
 * Content-Security-Policy allows scripts and styles from 'self' and nothing
 * inline, so markup smuggled into a page could neither run nor restyle it.
 */
export const ASSETS_PATH = '/runs-assets';

export const RUN_PAGE_CSS = `
:root{--fg:#1f2328;--muted:#59636e;--border:#d1d9e0;--bg:#f6f8fa;--card:#fff;--accent:#0969da;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--add:#dafbe1;--del:#ffebe9;--hunk:#ddf4ff}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
code,pre{font:12px/1.45 ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,monospace}
header.top{background:#24292f;color:#fff;padding:10px 16px;display:flex;gap:12px;align-items:center;flex-wrap:wrap}
header.top a,header.top .brand{color:#fff;font-weight:600}header.top .crumbs{flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
header.top .crumbs span{opacity:.6;margin:0 4px}header.top form{margin:0}
header.top .user{font-size:13px;opacity:.9}
.brand{display:inline-flex;align-items:center;gap:6px}.brand::before{content:"";width:14px;height:14px;border-radius:4px;background:linear-gradient(135deg,#54aeff,#8250df)}
main{max-width:980px;margin:0 auto;padding:16px}
section{background:var(--card);border:1px solid var(--border);border-radius:8px;margin:0 0 16px;padding:16px}
section>h2{font-size:15px;margin:0 0 10px}
h1{font-size:20px;margin:0 0 6px;word-break:break-word}
h3{font-size:14px;margin:0 0 6px}
.muted,.note{color:var(--muted)}.note{font-size:12px;margin:6px 0 0}
.badge{display:inline-block;border-radius:2em;padding:1px 10px;font-size:12px;font-weight:600;border:1px solid transparent;vertical-align:middle}
.badge.running{background:#ddf4ff;color:var(--accent);border-color:#54aeff}
.badge.succeeded{background:#dafbe1;color:var(--ok);border-color:#4ac26b}
.badge.failed,.badge.refused{background:#ffebe9;color:var(--bad);border-color:#ff8182}
.badge.cancelled,.badge.skipped,.badge.no-changes,.badge.limit,.badge.needs_input{background:#fff8c5;color:var(--warn);border-color:#d4a72c}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:8px 16px;margin:12px 0 0;padding:0}
.facts div{min-width:0}.facts dt{color:var(--muted);font-size:12px}.facts dd{margin:0;font-weight:600;overflow:hidden;text-overflow:ellipsis}
.links{margin:10px 0 0;display:flex;gap:12px;flex-wrap:wrap}
.actions{margin-top:12px}
button{font:inherit;font-weight:600;border-radius:6px;padding:5px 14px;cursor:pointer;border:1px solid var(--border);background:#f6f8fa;color:var(--fg)}
button.danger{color:var(--bad)}button.danger:hover{background:var(--bad);color:#fff}
.instruction{white-space:pre-wrap;word-break:break-word;background:var(--bg);border-radius:6px;padding:8px 10px;margin:8px 0 0}
ul.plan{list-style:none;margin:0;padding:0}ul.plan li{padding:3px 0;display:flex;gap:6px;align-items:baseline}
ul.plan li.completed span{color:var(--muted)}ul.plan em{color:var(--accent);font-size:12px}
ol.steps{list-style:none;margin:0;padding:0}
ol.steps>li{border-top:1px solid var(--border);padding:6px 0;min-width:0}ol.steps>li:first-child{border-top:0}
ol.steps li.phase{color:var(--muted);font-size:13px}ol.steps li.phase::before{content:"•";margin-right:8px}
ol.steps li.gap{color:var(--warn);font-style:italic;text-align:center;background:#fff8c5;border-radius:6px}
li.ok{color:var(--ok)}li.error>details>summary .dur,li.error .dur{color:var(--bad)}
details>summary{cursor:pointer;display:flex;gap:8px;align-items:baseline;list-style:none;min-width:0}
details>summary::-webkit-details-marker{display:none}
details>summary .what{flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
details[open]>summary .what{white-space:normal;word-break:break-word}
details>summary .dur{color:var(--muted);font-size:12px;white-space:nowrap}
.icon{width:16px;flex:none;text-align:center;color:var(--muted)}
li.command .icon::before{content:"$"}li.edit .icon::before{content:"✎"}li.view .icon::before{content:"◧"}li.tool .icon::before{content:"⚙"}li.turn .icon::before{content:"◆";color:#8250df}
li.note-line .icon::before{content:"ℹ"}li.note-line.error .icon::before{content:"⊘"}li.note-line.review .icon::before{content:"✓"}
li.error .icon::before{color:var(--bad)}
pre{margin:6px 0 0;padding:8px 10px;background:var(--bg);border-radius:6px;overflow:auto;max-height:420px;white-space:pre-wrap;word-break:break-word}
p.more{margin:4px 0;font-size:12px}
pre.diff{white-space:pre;word-break:normal;padding:0}pre.diff span{display:block;padding:0 10px}
pre.diff .add{background:var(--add)}pre.diff .del{background:var(--del)}pre.diff .hunk{background:var(--hunk);color:var(--muted)}pre.diff .meta{color:var(--muted);font-weight:600}
.model-text{white-space:pre-wrap;word-break:break-word;margin:6px 0 0;padding:8px 10px;border-left:3px solid #c297ff;background:#fbf7ff;border-radius:0 6px 6px 0}
details.file{border:1px solid var(--border);border-radius:6px;margin:8px 0}details.file>summary{padding:6px 10px;background:var(--bg)}details.file pre{margin:0;border-radius:0 0 6px 6px;max-height:none}
.plus{color:var(--ok);font-weight:600}.minus{color:var(--bad);font-weight:600}
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:8px 6px;border-top:1px solid var(--border);vertical-align:top}th{font-size:12px;color:var(--muted);border-top:0}
td.num,th.num{text-align:right;white-space:nowrap}
.live{display:inline-flex;align-items:center;gap:6px;font-size:12px;color:var(--accent);margin-left:8px}.live::before{content:"";width:8px;height:8px;border-radius:50%;background:var(--accent);animation:pulse 1.2s infinite}
@keyframes pulse{50%{opacity:.3}}
.center{text-align:center;padding:48px 16px}
@media (max-width:640px){main{padding:8px}section{padding:12px;border-radius:6px}table .hide-sm{display:none}h1{font-size:18px}}
`;

/**
 * Live updates: the page names its run and the last entry it shows; the script
 * reads entries after it over server-sent events and inserts the server's
 * escaped fragments. When the run ends it reloads once for the final view.
 */
export const RUN_PAGE_JS = `
(function(){
  var root=document.getElementById('run');
  if(!root||root.getAttribute('data-state')!=='running'||!window.EventSource)return;
  var id=root.getAttribute('data-run');
  var after=root.getAttribute('data-after')||'0-0';
  var steps=document.getElementById('steps');
  var source=new EventSource('/runs/'+encodeURIComponent(id)+'/events?after='+encodeURIComponent(after));
  source.addEventListener('entry',function(e){
    var msg=JSON.parse(e.data);
    if(msg.html){steps.insertAdjacentHTML('beforeend',msg.html);}
    if(msg.plan){var p=document.getElementById('plan-body');if(p)p.innerHTML=msg.plan;}
    if(msg.facts){var f=document.getElementById('facts');if(f)f.innerHTML=msg.facts;}
  });
  source.addEventListener('end',function(){source.close();setTimeout(function(){location.reload();},300);});
  source.onerror=function(){ if(source.readyState===2){setTimeout(function(){location.reload();},3000);} };
})();
`;
