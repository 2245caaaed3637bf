// The listing page's stylesheet and script. Served from `<prefix>/.serve-dir/` under names that
// carry their hash, so browsers keep them for a year, and the page's policy allows only them
// ('self', no inline script or style at all). The page works fully without the script: sorting
// and filtering are links and a form; the script makes filtering instant, shows dates in the
// reader's locale and adds keys.
import { createHash } from 'node:crypto'

const CSS = `:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#57606a;--line:#d8dee4;--row:#f6f8fa;--link:#0a58ca;--focus:#1f6feb;--icon:#6e7781;--dir:#c08a00}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--row:#161b22;--link:#58a6ff;--focus:#58a6ff;--icon:#9198a1;--dir:#e3b341}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:72rem;padding:1rem;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
h1{font-size:1.25rem;font-weight:600;margin:.25rem 0 .75rem;overflow-wrap:anywhere}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
:focus-visible{outline:2px solid var(--focus);outline-offset:2px;border-radius:3px}
.crumbs a{padding:0 .1rem}
form.filter{display:flex;gap:.5rem;align-items:center;margin:.5rem 0 1rem;flex-wrap:wrap}
form.filter input{flex:1 1 14rem;min-width:0;padding:.4rem .6rem;font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:6px}
form.filter button{padding:.4rem .8rem;font:inherit;color:inherit;background:var(--row);border:1px solid var(--line);border-radius:6px;cursor:pointer}
.js form.filter button{display:none}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
table{width:100%;border-collapse:collapse}
th,td{padding:.35rem .5rem;text-align:left;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;white-space:nowrap}
form.q{display:inline;margin:0}form.q button{font:inherit;color:var(--link);background:none;border:0;padding:0;cursor:pointer}form.q button:hover{text-decoration:underline}th form.q button{color:inherit;font-weight:600}
th[aria-sort=ascending] button::after{content:" \\25B2";font-size:.75em}th[aria-sort=descending] button::after{content:" \\25BC";font-size:.75em}
tbody tr:hover{background:var(--row)}
td:first-child a{display:inline-flex;gap:.45rem;align-items:flex-start;overflow-wrap:anywhere;white-space:pre-wrap}
.size{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
time{white-space:nowrap;color:var(--muted);font-variant-numeric:tabular-nums}
svg.i{width:1.1em;height:1.1em;flex:none;margin-top:.15em;fill:var(--icon)}tr.d svg.i{fill:var(--dir)}
.sprite{display:none}
nav.pages,footer{color:var(--muted);margin:.75rem 0;font-size:.9rem}nav.pages a{margin:0 .4rem}
#shown:not(:empty)::before{content:"\\B7  "}
tr[hidden]{display:none}
@media (max-width:40rem){body{padding:.5rem;font-size:14px}th:nth-child(3),td:nth-child(3){display:none}td:first-child{width:auto}}
`

const JS = `"use strict";(function(){
var d=document;d.documentElement.classList.add("js");
var rows=[].slice.call(d.querySelectorAll("tbody tr:not(.up)"));
var fmt;try{fmt=new Intl.DateTimeFormat(void 0,{dateStyle:"medium",timeStyle:"short"})}catch(e){fmt=null}
d.querySelectorAll("time[datetime]").forEach(function(t){var v=t.getAttribute("datetime");t.title=v;if(fmt)t.textContent=fmt.format(new Date(v))});
var q=d.getElementById("q"),counts=d.getElementById("shown");
function norm(s){return s.normalize?s.normalize("NFC").toLowerCase():s.toLowerCase()}
function filter(){var v=norm(q.value),n=0;rows.forEach(function(r){var hit=norm(r.getAttribute("data-name")||"").indexOf(v)!==-1;r.hidden=!hit;if(hit)n++});
if(counts)counts.textContent=v?n+" of "+rows.length+" shown":"";
var u=new URL(location.href);if(v)u.searchParams.set("q",q.value);else u.searchParams.delete("q");u.searchParams.delete("offset");history.replaceState(null,"",u)}
if(q){q.addEventListener("input",filter);q.addEventListener("keydown",function(e){if(e.key==="Escape"){q.value="";filter();q.blur()}})}
function links(){return[].slice.call(d.querySelectorAll("tbody tr:not([hidden]) td:first-child a"))}
d.addEventListener("keydown",function(e){if(e.altKey||e.ctrlKey||e.metaKey)return;var a=d.activeElement,inField=a&&a.tagName==="INPUT";
if(e.key==="/"&&!inField&&q){e.preventDefault();q.focus();q.select();return}
var k=e.key==="ArrowDown"||(e.key==="j"&&!inField)?1:e.key==="ArrowUp"||(e.key==="k"&&!inField)?-1:0;if(!k)return;
var l=links();if(!l.length)return;var i=l.indexOf(a);e.preventDefault();l[i===-1?(k>0?0:l.length-1):Math.max(0,Math.min(l.length-1,i+k))].focus()});
})();
`

function hashed (body: string, ext: string): { name: string, body: string, etag: string } {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 12)
  return { name: `listing-${hash}.${ext}`, body, etag: `"${hash}"` }
}

/** The stylesheet and the script, each under a name that changes with its content. */
export const ASSETS = {
  css: hashed(CSS, 'css'),
  js: hashed(JS, 'js')
}

/** The folder, below the mount prefix, the assets are served from (a dot path: it never shadows a served file by default). */
export const ASSET_DIR = '.serve-dir'
