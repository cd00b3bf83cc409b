// The sandbox's Slack look-alike: polls the sandbox server's state and renders channels,
// threads, ephemerals, modals and Hotfix Bot's App Home from Block Kit JSON, and sends slash
// commands, block actions and view submissions back in Slack's own payload shapes.
"use strict";

const POLL_MS = 700;
const LS_UI = "sandbox.ui";                 // {tab, channel, thread: {channel, ts} | null}
const LS_DISMISSED = "sandbox.dismissed";   // ephemeral ids the user dismissed
const LS_SEEN = "sandbox.seen";             // channel id -> newest ts the user has seen
const REQUIRED = "Please complete this required field.";

const EMOJI = {
  white_check_mark: "✅", x: "❌", warning: "⚠️", rotating_light: "🚨", rocket: "🚀", lock: "🔒",
  hourglass_flowing_sand: "⏳", hourglass: "⌛", heavy_check_mark: "✔️",
  chart_with_upwards_trend: "📈", red_circle: "🔴", large_green_circle: "🟢",
  large_yellow_circle: "🟡", large_orange_circle: "🟠", large_blue_circle: "🔵", eyes: "👀",
  tada: "🎉", rewind: "⏪", fire: "🔥", bell: "🔔", memo: "📝", wrench: "🔧",
  hammer_and_wrench: "🛠️", no_entry: "⛔", stopwatch: "⏱️", bust_in_silhouette: "👤",
  link: "🔗", package: "📦", thumbsup: "👍", "+1": "👍", shield: "🛡️", construction: "🚧",
  arrows_counterclockwise: "🔄", information_source: "ℹ️", sparkles: "✨", mag: "🔍",
};

const $ = (sel) => document.querySelector(sel);

let state = null;        // the last state the server sent
let me = localStorage.getItem("sandbox.me");
const ui = Object.assign({ tab: "channel", channel: null, thread: null }, loadJSON(LS_UI, {}));
const dismissed = new Set(loadJSON(LS_DISMISSED, []));
const storedSeen = loadJSON(LS_SEEN, null);
const seen = storedSeen || {};
let epoch = "";          // what every render depends on besides its own data (users, me…)
let modalView = null;    // the rendered modal: {id, sig, node, ctx, localErrors}
let confirmCancel = null; // closes the open confirm dialog (as "deny")
const reviewAs = {};     // PR number -> login chosen in "Review as"
const picked = {}; // "user|channel|ts|block/action" -> view-state value (the server keeps it)
let uidCounter = 0;

// ------------------------------------------------------------------ small helpers

function loadJSON(key, fallback) {
  try { const v = JSON.parse(localStorage.getItem(key)); return v ?? fallback; } catch { return fallback; }
}
function saveUI() { localStorage.setItem(LS_UI, JSON.stringify(ui)); }
function uid() { return `f${++uidCounter}`; }

// Build an element: h("div", {class: "x", onclick: fn}, child, "text", [more]).
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "html") el.innerHTML = v; // only ever our own escaped mrkdwn output
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid != null && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function decode(s) { return String(s).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"); }
function emojify(s) { return s.replace(/:([a-z0-9_+-]+):/g, (m, code) => EMOJI[code] ?? m); }

function userById(id) { return state?.users.find((u) => u.id === id); }
function userName(id) { const u = userById(id); return u ? u.real_name || u.name : null; }
function channelById(id) { return state?.channels.find((c) => c.id === id); }
function tsDate(ts) { return new Date(parseFloat(ts) * 1000); }
function timeOf(ts) { return tsDate(ts).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" }); }

function initials(name) {
  return (name || "?").split(/[\s._-]+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("");
}
function colorOf(id) {
  const palette = ["#2b7bb9", "#e8912d", "#4a9c5d", "#9b59b6", "#d9534f", "#16a085", "#c0392b", "#34495e"];
  let n = 0;
  for (const c of String(id)) n = (n * 31 + c.charCodeAt(0)) >>> 0;
  return palette[n % palette.length];
}

// ------------------------------------------------------------------ text objects & mrkdwn

// plain_text → string (Slack's &lt; &gt; &amp; decoded, :emoji: mapped unless emoji:false).
function plain(obj) {
  if (obj == null) return "";
  if (typeof obj === "string") return decode(obj);
  const text = decode(obj.text ?? "");
  return obj.emoji === false ? text : emojify(text);
}

// Any text object → a node (mrkdwn rendered, plain_text as text).
function textNode(obj, cls) {
  if (obj && obj.type === "mrkdwn") return h("span", { class: cls || "mrkdwn", html: mrkdwn(obj.text) });
  return h("span", { class: cls || "plain" }, plain(obj));
}

// Slack mrkdwn → safe HTML. Everything is escaped; only our own tags are produced.
function mrkdwn(text) {
  const slots = [];
  const put = (html) => `\u0001${slots.push(html) - 1}\u0002`;
  let s = String(text ?? "");
  s = s.replace(/```\n?([\s\S]*?)\n?```\n?/g, (_, code) => put(`<pre class="pre">${esc(decode(code))}</pre>`));
  s = s.replace(/`([^`\n]+)`/g, (_, code) => put(`<code>${esc(decode(code))}</code>`));
  s = s.replace(/<([^<>\n]+)>/g, (_, inner) => put(special(inner)));
  s = esc(decode(s));
  s = s.replace(/(^|[^\w*])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![\w*])/g, "$1<b>$2</b>");
  s = s.replace(/(^|[^\w_])_(?=[^\s_])([^_\n]*?[^\s_])_(?![\w_])/g, "$1<i>$2</i>");
  s = s.replace(/(^|[^\w~])~(?=[^\s~])([^~\n]*?[^\s~])~(?![\w~])/g, "$1<s>$2</s>");
  s = emojify(quotes(s));
  return s.replace(/\n/g, "<br>").replace(/\u0001(\d+)\u0002/g, (_, i) => slots[+i]);
}

// Lines starting with ">" (escaped by now) become block quotes.
function quotes(s) {
  const out = [];
  let quote = null;
  for (const line of s.split("\n")) {
    const m = /^&gt;\s?(.*)$/.exec(line);
    if (m) { (quote ??= []).push(m[1]); continue; }
    if (quote) { out.push(`<blockquote>${quote.join("<br>")}</blockquote>`); quote = null; }
    out.push(line);
  }
  if (quote) out.push(`<blockquote>${quote.join("<br>")}</blockquote>`);
  return out.join("\n").replace(/<\/blockquote>\n/g, "</blockquote>");
}

// <@U1>, <#C1|name>, <!subteam^S1|@x>, <!here>, <!date^…|fallback>, <https://x|label>.
function special(inner) {
  const bar = inner.indexOf("|");
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? decode(inner.slice(bar + 1)) : null;
  const mention = (text, mine) => `<span class="mention${mine ? " mention-me" : ""}">${esc(text)}</span>`;
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return mention("@" + (userName(id) ?? label ?? id), id === me);
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return mention("#" + (label ?? channelById(id)?.name ?? id));
  }
  if (target.startsWith("!subteam^")) return mention(label ?? "@" + target.slice(9));
  if (target.startsWith("!date^")) return esc(slackDate(target, label));
  if (target.startsWith("!")) return mention("@" + (label ?? target.slice(1)).replace(/^@/, ""));
  if (/^(https?:\/\/|mailto:|\/(?!\/))/i.test(target)) {
    const href = decode(target);
    return `<a href="${esc(href)}" target="_blank" rel="noopener">${emojify(esc(label ?? href))}</a>`;
  }
  return esc("<" + decode(inner) + ">");
}

// <!date^1733280000^{date_short_pretty} {time}|fallback> in the reader's time zone.
function slackDate(target, fallback) {
  const [, ts, token = "{date_short} {time}"] = target.split("^");
  const d = new Date(Number(ts) * 1000);
  if (!Number.isFinite(d.getTime())) return fallback ?? "";
  const day = (opts) => d.toLocaleDateString("en-US", opts);
  const pretty = (opts) => {
    const days = Math.round((new Date(d).setHours(0, 0, 0, 0) - new Date().setHours(0, 0, 0, 0)) / 864e5);
    return { 0: "today", [-1]: "yesterday", 1: "tomorrow" }[days] ?? day(opts);
  };
  const long = { weekday: "long", month: "long", day: "numeric", year: "numeric" };
  const mid = { month: "long", day: "numeric", year: "numeric" };
  const short = { month: "short", day: "numeric", year: "numeric" };
  const ago = () => {
    const s = Math.round((Date.now() - d.getTime()) / 1000);
    const [n, unit] = Math.abs(s) < 60 ? [s, "second"] : Math.abs(s) < 3600 ? [s / 60, "minute"]
      : Math.abs(s) < 86400 ? [s / 3600, "hour"] : [s / 86400, "day"];
    return new Intl.RelativeTimeFormat("en", { numeric: "auto" }).format(-Math.round(n), unit);
  };
  const tokens = {
    date_num: () => d.toLocaleDateString("sv-SE"), date: () => day(mid), date_short: () => day(short),
    date_long: () => day(long), date_pretty: () => pretty(mid), date_short_pretty: () => pretty(short),
    date_long_pretty: () => pretty(long), ago,
    time: () => d.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" }),
    time_secs: () => d.toLocaleTimeString([], { hour: "numeric", minute: "2-digit", second: "2-digit" }),
  };
  return token.replace(/\{(\w+)\}/g, (m, name) => (tokens[name] ? tokens[name]() : m));
}

// ------------------------------------------------------------------ sending things

async function post(path, body) {
  let res;
  try {
    const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    res = await r.json().catch(() => ({ ok: false, error: `The server answered ${r.status}` }));
  } catch {
    res = { ok: false, error: "The sandbox server does not answer." };
  }
  if (!res || !res.ok) toast((res && res.error) || "Something went wrong.");
  refresh();
  return res || { ok: false };
}

// A block action from any surface; modals also send their current input state.
function dispatch(ctx, action) {
  const body = { user: me, container: ctx.container, action };
  if (ctx.surface === "modal") body.state = { values: collectState(ctx) };
  return post("/sandbox/api/action", body);
}

function toast(text) {
  const box = $("#toasts");
  const t = h("div", { class: "toast", role: "alert" }, h("span", {}, text),
    h("button", { type: "button", class: "toast-x", "aria-label": "Hide error", title: "Hide", onclick: () => t.remove() }, "✕"));
  box.append(t);
  setTimeout(() => t.remove(), 15000);
  while (box.children.length > 4) box.firstChild.remove();
}

// ------------------------------------------------------------------ confirm dialog

function confirmDialog(c) {
  return new Promise((resolve) => {
    const title = plain(c.title) || "Are you sure?";
    const done = (ok) => { overlay.remove(); confirmCancel = null; resolve(ok); };
    const yes = h("button", { type: "button", id: "confirm-yes", class: `btn ${c.style === "danger" ? "btn-danger" : "btn-primary"}`, onclick: () => done(true) }, plain(c.confirm) || "Yes");
    const no = h("button", { type: "button", id: "confirm-no", class: "btn", onclick: () => done(false) }, plain(c.deny) || "Cancel");
    const box = h("div", { class: "modal confirm", role: "alertdialog", "aria-modal": "true", "aria-label": title },
      h("header", { class: "modal-head" }, h("h2", {}, title)),
      h("div", { class: "modal-body" }, c.text ? textNode(typeof c.text === "string" ? { type: "mrkdwn", text: c.text } : c.text) : null),
      h("footer", { class: "modal-foot" }, no, yes));
    const overlay = h("div", { class: "overlay overlay-confirm", onmousedown: (e) => { if (e.target === overlay) done(false); } }, box);
    document.body.append(overlay);
    confirmCancel = () => done(false);
    yes.focus();
  });
}

// ------------------------------------------------------------------ Block Kit elements
// Each returns {node, get?, set?}: get() gives Slack's view-state value, set() restores it.
// opts: {id (for <label for>), labelId (for groups), dispatch (send actions on change)}.

function button(el, blockId, ctx) {
  const b = h("button", { type: "button", class: `btn${el.style ? " btn-" + el.style : ""}`, "data-action-id": el.action_id }, plain(el.text));
  b.addEventListener("click", async () => {
    if (el.confirm && !(await confirmDialog(el.confirm))) return;
    b.disabled = true;
    setTimeout(() => { b.disabled = false; }, 1000);
    openUrl(el.url);
    const action = { type: "button", action_id: el.action_id, block_id: blockId };
    if (el.value !== undefined) action.value = el.value;
    action.text = el.text;
    if (el.style) action.style = el.style;
    dispatch(ctx, action);
  });
  return { node: b };
}

function openUrl(url) {
  if (url && /^(https?:|\/)/i.test(url)) window.open(url, "_blank", "noopener");
}

function overflow(el, blockId, ctx) {
  const menu = h("div", { class: "menu", role: "menu", hidden: true });
  const toggle = h("button", { type: "button", class: "btn btn-icon", "aria-haspopup": "menu", "aria-label": "More actions", title: "More actions" }, "⋯");
  for (const o of el.options || []) {
    menu.append(h("button", {
      type: "button", role: "menuitem", class: "menu-item",
      onclick: async () => {
        menu.hidden = true;
        if (el.confirm && !(await confirmDialog(el.confirm))) return;
        openUrl(o.url);
        dispatch(ctx, { type: "overflow", action_id: el.action_id, block_id: blockId, selected_option: o });
      },
    }, plain(o.text)));
  }
  toggle.addEventListener("click", (e) => {
    e.stopPropagation();
    const open = menu.hidden;
    closeMenus();
    menu.hidden = !open;
  });
  return { node: h("span", { class: "overflow", "data-action-id": el.action_id }, toggle, menu) };
}
function closeMenus() { document.querySelectorAll(".menu").forEach((m) => { m.hidden = true; }); }

// A native <select> over option objects (options or option_groups); multiple for multi_*.
function optionSelect(el, blockId, ctx, opts, multiple) {
  const sel = h("select", { class: "select", id: opts.id, multiple, "data-action-id": el.action_id });
  const placeholder = plain(el.placeholder) || "Select an option";
  if (!opts.id) sel.setAttribute("aria-label", placeholder);
  const byValue = new Map(); // <option value> is the option's own value
  const add = (o, parent) => {
    if (!byValue.has(o.value)) byValue.set(o.value, o);
    parent.append(h("option", { value: o.value, title: plain(o.description) || null }, plain(o.text)));
  };
  if (!multiple) sel.append(h("option", { value: "", disabled: true }, placeholder));
  if (el.option_groups) {
    for (const g of el.option_groups) {
      const group = h("optgroup", { label: plain(g.label) });
      (g.options || []).forEach((o) => add(o, group));
      sel.append(group);
    }
  } else (el.options || []).forEach((o) => add(o, sel));
  if (multiple) sel.size = Math.min(Math.max(byValue.size, 2), 6);
  const desc = h("div", { class: "option-desc" });
  const chosen = () => [...sel.selectedOptions].filter((o) => !o.disabled).map((o) => byValue.get(o.value));
  const choose = (options) => {
    const values = new Set((options || []).filter(Boolean).map((o) => o.value));
    for (const o of sel.options) o.selected = !o.disabled && values.has(o.value);
    if (!multiple && !chosen().length) sel.value = "";
    desc.textContent = multiple ? "" : plain(chosen()[0]?.description);
  };
  choose(multiple ? el.initial_options : [el.initial_option]);
  sel.addEventListener("change", () => {
    choose(chosen());
    if (!opts.dispatch) return;
    dispatch(ctx, multiple
      ? { type: el.type, action_id: el.action_id, block_id: blockId, selected_options: chosen() }
      : { type: el.type, action_id: el.action_id, block_id: blockId, selected_option: chosen()[0] ?? null });
  });
  return {
    node: h("span", { class: "select-wrap" }, sel, desc),
    get: () => (multiple ? { type: el.type, selected_options: chosen() } : { type: el.type, selected_option: chosen()[0] ?? null }),
    set: (v) => choose(multiple ? v.selected_options : [v.selected_option]),
    focusable: sel,
  };
}

// users_select / conversations_select / channels_select: a <select> of the workspace's entities.
function entitySelect(el, blockId, ctx, opts) {
  const kind = el.type.replace(/^multi_/, "").replace(/_select$/, "");
  const multiple = el.type.startsWith("multi_");
  const key = { users: "user", conversations: "conversation", channels: "channel" }[kind];
  const field = multiple ? `selected_${key}s` : `selected_${key}`;
  const items = kind === "users"
    ? state.users.map((u) => [u.id, `${u.real_name || u.name}${u.title ? " — " + u.title : ""}`])
    : state.channels.map((c) => [c.id, "#" + c.name]);
  const placeholder = plain(el.placeholder) || (kind === "users" ? "Select a person" : "Select a channel");
  const sel = h("select", { class: "select", id: opts.id, multiple, "data-action-id": el.action_id });
  if (!opts.id) sel.setAttribute("aria-label", placeholder);
  if (!multiple) sel.append(h("option", { value: "", disabled: true }, placeholder));
  for (const [id, text] of items) sel.append(h("option", { value: id }, text));
  const chosen = () => [...sel.selectedOptions].map((o) => o.value).filter(Boolean);
  const choose = (ids) => {
    for (const o of sel.options) o.selected = o.value !== "" && ids.includes(o.value);
    if (!multiple && !ids.some(Boolean)) sel.value = "";
  };
  const initial = multiple ? el[`initial_${key}s`] || [] : [el[`initial_${key}`]];
  choose(initial.filter(Boolean));
  const value = () => (multiple ? chosen() : chosen()[0] ?? null);
  sel.addEventListener("change", () => {
    if (opts.dispatch) dispatch(ctx, { type: el.type, action_id: el.action_id, block_id: blockId, [field]: value() });
  });
  return {
    node: sel, focusable: sel,
    get: () => ({ type: el.type, [field]: value() }),
    set: (v) => choose(multiple ? v[field] || [] : [v[field]].filter(Boolean)),
  };
}

// checkboxes / radio_buttons: native inputs inside labels, option text as mrkdwn or plain.
function choices(el, blockId, ctx, opts) {
  const radio = el.type === "radio_buttons";
  const name = uid();
  const group = h("div", { class: "choices", role: radio ? "radiogroup" : "group", "aria-labelledby": opts.labelId, "data-action-id": el.action_id });
  const initial = radio ? [el.initial_option].filter(Boolean) : el.initial_options || [];
  const boxes = (el.options || []).map((o) => {
    const input = h("input", { type: radio ? "radio" : "checkbox", name });
    input.checked = initial.some((i) => i.value === o.value);
    group.append(h("label", { class: "choice" }, input,
      h("span", { class: "choice-text" }, textNode(o.text), o.description ? h("span", { class: "choice-desc" }, textNode(o.description)) : null)));
    return [input, o];
  });
  const picked = () => boxes.filter(([i]) => i.checked).map(([, o]) => o);
  const value = () => (radio ? { selected_option: picked()[0] ?? null } : { selected_options: picked() });
  group.addEventListener("change", () => {
    if (opts.dispatch) dispatch(ctx, { type: el.type, action_id: el.action_id, block_id: blockId, ...value() });
  });
  return {
    node: group, focusable: boxes[0]?.[0],
    get: () => ({ type: el.type, ...value() }),
    set: (v) => {
      const values = new Set((radio ? [v.selected_option] : v.selected_options || []).filter(Boolean).map((o) => o.value));
      boxes.forEach(([i, o]) => { i.checked = values.has(o.value); });
    },
  };
}

// plain_text_input (and email/url/number inputs): <input> or, when multiline, <textarea>.
function textInput(el, blockId, ctx, opts) {
  const type = { email_text_input: "email", url_text_input: "url", number_text_input: "number" }[el.type] || "text";
  const node = el.multiline
    ? h("textarea", { class: "text-input", id: opts.id, rows: 4 })
    : h("input", { class: "text-input", id: opts.id, type });
  node.dataset.actionId = el.action_id;
  if (el.placeholder) node.placeholder = plain(el.placeholder);
  if (el.max_length) node.maxLength = el.max_length;
  if (el.min_length) node.minLength = el.min_length;
  node.value = el.initial_value ?? "";
  if (opts.dispatch && !el.multiline) {
    node.addEventListener("keydown", (e) => {
      if (e.key === "Enter") dispatch(ctx, { type: el.type, action_id: el.action_id, block_id: blockId, value: node.value });
    });
  }
  return {
    node, focusable: node,
    get: () => ({ type: el.type, value: node.value === "" ? null : node.value }),
    set: (v) => { node.value = v.value ?? ""; },
  };
}

// datepicker / timepicker / datetimepicker: native date and time inputs.
function picker(el, blockId, ctx, opts) {
  const kind = { datepicker: "date", timepicker: "time", datetimepicker: "datetime-local" }[el.type];
  const field = { datepicker: "selected_date", timepicker: "selected_time", datetimepicker: "selected_date_time" }[el.type];
  const node = h("input", { class: "text-input picker", id: opts.id, type: kind, "data-action-id": el.action_id });
  if (!opts.id) node.setAttribute("aria-label", plain(el.placeholder) || "Pick a date");
  const pad = (n) => String(n).padStart(2, "0");
  const toInput = (v) => {
    if (v == null) return "";
    if (kind !== "datetime-local") return v;
    const d = new Date(v * 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  };
  const value = () => {
    if (!node.value) return null;
    return kind === "datetime-local" ? Math.floor(new Date(node.value).getTime() / 1000) : node.value;
  };
  node.value = toInput(el.initial_date ?? el.initial_time ?? el.initial_date_time);
  node.addEventListener("change", () => {
    if (opts.dispatch) dispatch(ctx, { type: el.type, action_id: el.action_id, block_id: blockId, [field]: value() });
  });
  return { node, focusable: node, get: () => ({ type: el.type, [field]: value() }), set: (v) => { node.value = toInput(v[field]); } };
}

function imageElement(el) {
  return { node: h("img", { class: "img-el", src: el.image_url, alt: el.alt_text || "" }) };
}

const ELEMENTS = {
  button, overflow, image: imageElement,
  static_select: (el, b, c, o) => optionSelect(el, b, c, o, false),
  external_select: (el, b, c, o) => optionSelect(el, b, c, o, false),
  multi_static_select: (el, b, c, o) => optionSelect(el, b, c, o, true),
  users_select: entitySelect, multi_users_select: entitySelect,
  conversations_select: entitySelect, channels_select: entitySelect,
  multi_conversations_select: entitySelect, multi_channels_select: entitySelect,
  checkboxes: choices, radio_buttons: choices,
  plain_text_input: textInput, email_text_input: textInput, url_text_input: textInput, number_text_input: textInput,
  datepicker: picker, timepicker: picker, datetimepicker: picker,
};

// Render one element, registering it in the modal's state when it carries a value.
function element(raw, blockId, ctx, opts, index) {
  const el = raw.action_id ? raw : { ...raw, action_id: `${blockId}-${index}` };
  const make = ELEMENTS[el.type];
  const r = make ? make(el, blockId, ctx, opts) : { node: h("span", { class: "unsupported" }, `[unsupported element: ${el.type}]`) };
  if (r.get && ctx.fields) ctx.fields.push({ blockId, actionId: el.action_id, r, input: !!opts.input, optional: !!opts.optional, err: opts.err });
  if (r.get && ctx.pickKey) remember(ctx.pickKey + blockId + "/" + el.action_id, r);
  return r;
}

// Like Slack clients, a message keeps what this person ticked or selected across the bot's
// updates of it, for as long as the element's block_id and action_id stay the same.
function remember(key, r) {
  if (picked[key]) r.set(picked[key]);
  r.node.addEventListener("change", () => { picked[key] = r.get(); });
}

// ------------------------------------------------------------------ Block Kit blocks

function header(b) { return h("div", { class: "block header" }, plain(b.text)); }
function divider() { return h("hr", { class: "block divider" }); }

function section(b, blockId, ctx) {
  const body = h("div", { class: "section-body" },
    b.text ? h("div", { class: "section-text" }, textNode(b.text)) : null,
    b.fields ? h("div", { class: "fields" }, b.fields.map((f) => h("div", { class: "field" }, textNode(f)))) : null);
  const acc = b.accessory ? h("div", { class: "accessory" }, element(b.accessory, blockId, ctx, { dispatch: true }, 0).node) : null;
  return h("div", { class: "block section" }, body, acc);
}

function context(b) {
  return h("div", { class: "block context" }, (b.elements || []).map((e) => (e.type === "image"
    ? h("img", { class: "ctx-img", src: e.image_url, alt: e.alt_text || "" })
    : textNode(e, "ctx-text"))));
}

function image(b) {
  return h("figure", { class: "block image" },
    b.title ? h("figcaption", {}, plain(b.title)) : null,
    h("img", { src: b.image_url || b.slack_file?.url, alt: b.alt_text || "" }));
}

function actions(b, blockId, ctx) {
  return h("div", { class: "block actions" }, (b.elements || []).map((e, i) => element(e, blockId, ctx, { dispatch: true }, i).node));
}

function input(b, blockId, ctx) {
  const el = b.element || {};
  const id = uid();
  const labelId = uid();
  const group = el.type === "checkboxes" || el.type === "radio_buttons";
  const err = h("div", { class: "field-error", role: "alert", hidden: true });
  const label = h(group ? "div" : "label", { class: "input-label", id: labelId, for: group ? null : id },
    plain(b.label), b.optional ? h("span", { class: "optional" }, " (optional)") : null);
  const r = element(el, blockId, ctx, { id, labelId, input: true, optional: b.optional, err, dispatch: !!b.dispatch_action }, 0);
  if (el.focus_on_load) ctx.focus = r.focusable;
  return h("div", { class: "block input" }, label, r.node, b.hint ? h("div", { class: "hint" }, plain(b.hint)) : null, err);
}

// rich_text: its text, with the usual inline styles, lists, quotes and code.
function richText(b) {
  const inline = (e) => {
    let n;
    if (e.type === "text") n = document.createTextNode(e.text);
    else if (e.type === "link") n = h("a", { href: e.url, target: "_blank", rel: "noopener" }, e.text || e.url);
    else if (e.type === "user") n = h("span", { class: "mention" }, "@" + (userName(e.user_id) ?? e.user_id));
    else if (e.type === "channel") n = h("span", { class: "mention" }, "#" + (channelById(e.channel_id)?.name ?? e.channel_id));
    else if (e.type === "usergroup") n = h("span", { class: "mention" }, "@" + e.usergroup_id);
    else if (e.type === "broadcast") n = h("span", { class: "mention" }, "@" + e.range);
    else if (e.type === "emoji") n = document.createTextNode(e.unicode ? String.fromCodePoint(...e.unicode.split("-").map((x) => parseInt(x, 16))) : EMOJI[e.name] ?? `:${e.name}:`);
    else n = document.createTextNode(e.text || "");
    const st = e.style || {};
    for (const [flag, tag] of [["code", "code"], ["bold", "b"], ["italic", "i"], ["strike", "s"]]) if (st[flag]) n = h(tag, {}, n);
    return n;
  };
  const part = (p) => {
    const kids = (p.elements || []).map((e) => (e.elements ? part(e) : inline(e)));
    if (p.type === "rich_text_list") return h(p.style === "ordered" ? "ol" : "ul", {}, kids.map((k) => h("li", {}, k)));
    if (p.type === "rich_text_preformatted") return h("pre", { class: "pre" }, kids);
    if (p.type === "rich_text_quote") return h("blockquote", {}, kids);
    return h("div", {}, kids);
  };
  return h("div", { class: "block rich-text" }, (b.elements || []).map(part));
}

const BLOCKS = { header, divider, section, context, image, actions, input, rich_text: richText };

// Render a list of blocks; ctx = {surface, container, fields? (modal state registry)}.
function renderBlocks(blocks, ctx) {
  return h("div", { class: "blocks" }, (blocks || []).map((b, i) => {
    const blockId = b.block_id ?? `b${i}`;
    const node = BLOCKS[b.type] ? BLOCKS[b.type](b, blockId, ctx) : h("div", { class: "block unsupported" }, `[unsupported block: ${b.type}]`);
    node.dataset.blockId = blockId;
    return node;
  }));
}

// The modal's state.values: {block_id: {action_id: VALUE}}.
function collectState(ctx) {
  const values = {};
  for (const f of ctx.fields || []) (values[f.blockId] ??= {})[f.actionId] = f.r.get();
  return values;
}

// ------------------------------------------------------------------ messages

function avatar(id, name, isBot) {
  return h("div", { class: `avatar${isBot ? " avatar-bot" : ""}`, style: `background:${isBot ? "#1d9bd1" : colorOf(id)}`, "aria-hidden": "true" }, isBot ? "HB" : initials(name));
}

function fileCard(f) {
  return h("div", { class: "file" },
    h("span", { class: "file-icon", "aria-hidden": "true" }, "📄"),
    h("div", { class: "file-meta" },
      h("a", { class: "file-name", href: f.url, target: "_blank", rel: "noopener" }, f.name || f.title || "file"),
      f.title && f.title !== f.name ? h("div", { class: "file-title" }, f.title) : null),
    h("a", { class: "btn btn-small", href: f.url, download: f.name || "" }, "Download"));
}

// One message row. where = {channel, threadTs (for replies), inThread}.
function messageNode(msg, where, eph) {
  const isBot = eph ? true : !!msg.is_bot;
  const name = eph ? msg.user_name || "Hotfix Bot" : msg.user_name || userName(msg.user) || msg.user || "unknown";
  const ctx = {
    surface: "message",
    container: { type: "message", channel: where.channel, ts: msg.ts, is_ephemeral: !!eph, thread_ts: where.threadTs ?? msg.thread_ts ?? null },
    pickKey: eph ? null : `${me}|${where.channel}|${msg.ts}|`,
  };
  const body = h("div", { class: "msg-body" },
    eph ? h("div", { class: "eph-note" }, "👁 Only visible to you · ",
      h("button", { type: "button", class: "link", onclick: () => dismiss(msg) }, "Dismiss")) : null,
    h("div", { class: "msg-head" },
      h("span", { class: "msg-author" }, name),
      isBot ? h("span", { class: "app-badge" }, "APP") : null,
      h("time", { class: "msg-time", title: tsDate(msg.ts).toLocaleString() }, timeOf(msg.ts)),
      msg.edited ? h("span", { class: "msg-edited" }, "(edited)") : null),
    msg.blocks && msg.blocks.length ? renderBlocks(msg.blocks, ctx) : h("div", { class: "msg-text", html: mrkdwn(msg.text) }),
    (msg.files || []).map(fileCard));
  const count = msg.reply_count ?? (msg.replies || []).length;
  if (!where.inThread && count > 0) {
    body.append(h("button", { type: "button", class: "replies-link", onclick: () => openThread(where.channel, msg.ts) },
      `${count} ${count === 1 ? "reply" : "replies"}`));
  }
  return h("div", { class: `msg${eph ? " msg-eph" : ""}`, "data-ts": msg.ts }, avatar(msg.user, name, isBot), body);
}

const dismissKey = (e) => `${e.id}@${e.ts}`;
function dismiss(eph) {
  dismissed.add(dismissKey(eph));
  localStorage.setItem(LS_DISMISSED, JSON.stringify([...dismissed]));
  render();
}

function ephemeralsFor(channel, threadTs) {
  return (state.ephemerals || []).filter((e) => e.channel === channel && (e.thread_ts ?? null) === threadTs && !dismissed.has(dismissKey(e)));
}

function byTs(a, b) { return parseFloat(a.ts) - parseFloat(b.ts); }

// Keyed re-render: rebuild only items whose signature changed; message panes (follow=true)
// keep the scroll at the bottom when it was there. items = [{key, sig, build}].
function renderList(box, items, scope, follow = false) {
  if (follow && !box._resize) { // keep following the bottom while images and fonts grow the items
    box._resize = new ResizeObserver(() => { if (box._atBottom) stick(box); });
    box.addEventListener("scroll", () => { // the reader's own scrolling decides, not ours
      if (Math.abs(box.scrollTop - box._ourTop) > 2) box._atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    });
  }
  const atBottom = box._atBottom || box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  const fresh = box.dataset.scope !== scope;
  const old = fresh ? new Map() : box._keyed || new Map();
  if (fresh) box.replaceChildren();
  const next = new Map();
  let prev = null;
  for (const it of items) {
    let rec = old.get(it.key);
    const sig = it.sig + epoch;
    if (!rec || rec.sig !== sig) { rec = { sig, node: it.build() }; box._resize?.observe(rec.node); }
    next.set(it.key, rec);
    const want = prev ? prev.nextSibling : box.firstChild;
    if (want !== rec.node) box.insertBefore(rec.node, want);
    prev = rec.node;
  }
  for (const [key, rec] of old) if (next.get(key) !== rec) rec.node.remove();
  box._keyed = next;
  box.dataset.scope = scope;
  if (follow && (fresh || atBottom)) stick(box);
}
function stick(box) {
  box.scrollTop = box.scrollHeight;
  box._ourTop = box.scrollTop;
  box._atBottom = true;
}

function renderChannel() {
  const ch = channelById(ui.channel);
  if (!ch) return;
  $("#channel-title").textContent = `# ${ch.name}`;
  $("#channel-topic").textContent = ch.topic || "";
  const composer = $("#composer");
  composer.setAttribute("aria-label", `Message #${ch.name}`);
  composer.placeholder = `Message #${ch.name} — try /hotfix help`;
  const msgs = [...(state.messages[ch.id] || []).map((m) => ({ m, eph: false })),
    ...ephemeralsFor(ch.id, null).map((m) => ({ m, eph: true }))].sort((a, b) => byTs(a.m, b.m));
  const items = [{ key: "intro", sig: ch.name + ch.topic, build: () => h("div", { class: "channel-intro" },
    h("div", { class: "channel-intro-title" }, `# ${ch.name}`),
    h("div", {}, `This is the very beginning of the #${ch.name} channel. `, ch.topic || "")) }];
  for (const { m, eph } of msgs) {
    items.push({ key: (eph ? "e:" + m.id : "m:") + m.ts, sig: JSON.stringify(m), build: () => messageNode(m, { channel: ch.id }, eph) });
  }
  renderList($("#messages"), items, "channel:" + ch.id, true);
  const newest = state.messages[ch.id]?.at(-1)?.ts;
  if (newest && seen[ch.id] !== newest && ui.tab === "channel") {
    seen[ch.id] = newest;
    localStorage.setItem(LS_SEEN, JSON.stringify(seen));
  }
}

function openThread(channel, ts) {
  ui.thread = { channel, ts };
  saveUI();
  render();
  $("#thread-composer").focus();
}

function renderThread() {
  const pane = $("#thread-pane");
  const t = ui.thread;
  const parent = t && (state.messages[t.channel] || []).find((m) => m.ts === t.ts);
  pane.hidden = !parent;
  if (!parent) return;
  $("#thread-channel").textContent = `#${channelById(t.channel)?.name ?? t.channel}`;
  const where = { channel: t.channel, threadTs: t.ts, inThread: true };
  const replies = [...(parent.replies || []).map((m) => ({ m, eph: false })),
    ...ephemeralsFor(t.channel, t.ts).map((m) => ({ m, eph: true }))].sort((a, b) => byTs(a.m, b.m));
  const n = (parent.replies || []).length;
  const items = [
    { key: "parent", sig: JSON.stringify({ ...parent, replies: null }), build: () => messageNode(parent, where, false) },
    { key: "count", sig: String(n), build: () => h("div", { class: "thread-count" }, n ? `${n} ${n === 1 ? "reply" : "replies"}` : "No replies yet") },
  ];
  for (const { m, eph } of replies) {
    items.push({ key: (eph ? "e:" + m.id : "m:") + m.ts, sig: JSON.stringify(m), build: () => messageNode(m, where, eph) });
  }
  renderList($("#thread-messages"), items, `thread:${t.channel}:${t.ts}`, true);
}

// ------------------------------------------------------------------ Home, GitHub, World

function renderHome() {
  const home = state.home;
  renderList($("#home-body"), [{
    key: "home", sig: JSON.stringify(home),
    build: () => (home && home.blocks?.length
      ? renderBlocks(home.blocks, { surface: "home", container: { type: "home", view_id: home.id } })
      : h("div", { class: "empty" }, "Nothing here yet")),
  }], "home:" + me);
}

function renderGitHub() {
  const gh = state.github || { prs: [], logins: [] };
  $("#github-repo").textContent = gh.repository || "";
  const items = (gh.prs || []).map((pr) => ({ key: "pr" + pr.number, sig: JSON.stringify([pr, gh.logins]), build: () => prCard(pr, gh.logins) }));
  if (!items.length) items.push({ key: "none", sig: "", build: () => h("div", { class: "empty" }, "No pull requests yet.") });
  renderList($("#github-body"), items, "github");
}

function prCard(pr, logins) {
  const status = pr.merged ? "merged" : pr.state;
  const select = h("select", { class: "select", "aria-label": "Review as", onchange: () => { reviewAs[pr.number] = select.value; } },
    (logins || []).map((l) => h("option", { value: l }, l)));
  if (reviewAs[pr.number]) select.value = reviewAs[pr.number];
  const checkIcon = (c) => (c.status !== "completed" ? "🟡" : c.conclusion === "success" ? "✅" : c.conclusion ? "❌" : "⚪");
  const open = pr.state === "open";
  return h("article", { class: "pr", "data-pr": pr.number },
    h("div", { class: "pr-head" }, h("span", { class: `pr-state pr-${status}` }, status),
      h("a", { class: "pr-title", href: pr.url, target: "_blank", rel: "noopener" }, `${pr.title} #${pr.number}`)),
    h("div", { class: "pr-meta" }, h("code", {}, pr.head_ref), " · ", h("code", {}, (pr.head_sha || "").slice(0, 7))),
    h("div", { class: "pr-section" }, h("b", {}, "Reviews: "),
      pr.reviews?.length ? pr.reviews.map((r) => h("span", { class: "pr-review" }, `${r.state === "APPROVED" ? "✅" : "💬"} ${r.user} (${r.state.toLowerCase().replace(/_/g, " ")})`)) : "none yet"),
    open ? h("div", { class: "pr-row" }, select,
      h("button", { type: "button", class: "btn btn-primary btn-small", onclick: () => post("/sandbox/api/github/review", { repository: pr.repository, number: pr.number, login: select.value }) }, "Approve review")) : null,
    h("div", { class: "pr-section" }, h("b", {}, "Checks"),
      (pr.checks || []).map((c) => h("div", { class: "pr-check" },
        h("span", {}, `${checkIcon(c)} ${c.name} — ${c.status}${c.conclusion ? " · " + c.conclusion : ""}`),
        open ? h("span", { class: "pr-check-btns" },
          h("button", { type: "button", class: "btn btn-small", onclick: () => post("/sandbox/api/github/check", { repository: pr.repository, number: pr.number, check_id: c.id, conclusion: "success" }) }, `Make ${c.name} pass`),
          h("button", { type: "button", class: "btn btn-small", onclick: () => post("/sandbox/api/github/check", { repository: pr.repository, number: pr.number, check_id: c.id, conclusion: "failure" }) }, `Make ${c.name} fail`)) : null)),
      pr.checks?.length ? null : h("div", { class: "muted" }, "No check runs.")));
}

function renderWorld() {
  $("#guide").replaceChildren(textNode({ type: "mrkdwn", text: state.guide || "" }));
  const w = state.world || {};
  renderList($("#world-body"), [{
    key: "world", sig: JSON.stringify(w),
    build: () => h("div", {},
      h("div", { class: "world-row" }, "Health: ", h("b", { class: w.health === "healthy" ? "ok" : "bad" }, w.health === "healthy" ? "🟢 healthy" : "🔴 " + (w.health || "unknown"))),
      h("div", { class: "world-btns" },
        h("button", { type: "button", class: "btn btn-small", onclick: () => post("/sandbox/api/health", { healthy: false }) }, "Break health"),
        h("button", { type: "button", class: "btn btn-small", onclick: () => post("/sandbox/api/health", { healthy: true }) }, "Heal health")),
      h("div", { class: "world-row" }, "Deployed: ", h("b", {}, w.deployed ? `${w.deployed.version}${w.deployed.hotfix ? " (" + w.deployed.hotfix + ")" : ""}` : "the release in production")),
      (w.hotfix_branches || []).length
        ? w.hotfix_branches.map((b) => h("button", { type: "button", class: "btn btn-small btn-fix", onclick: () => post("/sandbox/api/make-fix", { branch: b }) }, `Make a fix on ${b}`))
        : h("div", { class: "world-row muted" }, "No hotfix branch yet.")),
  }], "world");
}

// ------------------------------------------------------------------ modal

function renderModal() {
  const m = state.modal;
  if (!m) { modalView?.node.remove(); modalView = null; return; }
  const sig = JSON.stringify([m.id, m.title, m.submit, m.close, m.blocks]);
  if (!modalView || modalView.sig !== sig) {
    const same = modalView && modalView.id === m.id;
    const kept = same ? inputValues(modalView.ctx) : null;
    const focused = same ? focusedField(modalView.ctx) : null;
    const localErrors = same ? modalView.localErrors : {};
    modalView?.node.remove();
    modalView = buildModal(m, sig);
    modalView.localErrors = localErrors;
    if (kept) for (const f of modalView.ctx.fields) if (f.input && kept[f.blockId + "/" + f.actionId]) f.r.set(kept[f.blockId + "/" + f.actionId]);
    const byKey = (key) => modalView.ctx.fields.find((f) => f.blockId + "/" + f.actionId === key)?.r.focusable;
    const first = modalView.ctx.fields.find((f) => f.input)?.r.focusable;
    const focus = focused ? byKey(focused) : modalView.ctx.focus || (same ? null : first);
    focus?.focus();
  }
  showErrors({ ...(m.errors || {}), ...modalView.localErrors });
}

function inputValues(ctx) {
  const kept = {};
  for (const f of ctx.fields) if (f.input) kept[f.blockId + "/" + f.actionId] = f.r.get();
  return kept;
}
function focusedField(ctx) {
  const f = ctx.fields.find((x) => x.r.focusable && (x.r.focusable === document.activeElement || x.r.node.contains(document.activeElement)));
  return f ? f.blockId + "/" + f.actionId : null;
}

function buildModal(m, sig) {
  const title = plain(m.title) || "Hotfix Bot";
  const ctx = { surface: "modal", container: { type: "view", view_id: m.id }, fields: [] };
  const body = h("div", { class: "modal-body" }, renderBlocks(m.blocks, ctx));
  const close = () => post("/sandbox/api/close", { user: me, view_id: m.id });
  const submit = m.submit ? h("button", { type: "button", id: "modal-submit", class: "btn btn-primary", onclick: () => submitModal(m, ctx, submit) }, plain(m.submit)) : null;
  const box = h("div", { class: "modal", role: "dialog", "aria-modal": "true", "aria-label": title, "data-view-id": m.id },
    h("header", { class: "modal-head" }, h("span", { class: "bot-dot", "aria-hidden": "true" }, "HB"), h("h2", {}, title),
      h("button", { type: "button", class: "icon-btn modal-x", title: "Close", onclick: close }, "✕")),
    body,
    h("footer", { class: "modal-foot" },
      h("button", { type: "button", id: "modal-close", class: "btn", onclick: close }, m.close ? plain(m.close) : "Cancel"), submit));
  const node = h("div", { class: "overlay", onmousedown: (e) => { if (e.target === node) close(); } }, box);
  document.body.append(node);
  return { id: m.id, sig, node, ctx, localErrors: {} };
}

// Errors under their input blocks (Slack's response_action: errors, or required fields).
function showErrors(errors) {
  for (const f of modalView.ctx.fields) {
    if (!f.err) continue;
    const msg = errors[f.blockId];
    f.err.hidden = !msg;
    f.err.textContent = msg || "";
    f.err.closest(".block")?.classList.toggle("has-error", !!msg);
  }
}

function isEmpty(value) {
  const v = Object.entries(value).find(([k]) => k !== "type")?.[1];
  return v == null || v === "" || (Array.isArray(v) && !v.length);
}

async function submitModal(m, ctx, btn) {
  const values = collectState(ctx);
  const missing = {};
  for (const f of ctx.fields) if (f.input && !f.optional && isEmpty(f.r.get())) missing[f.blockId] = REQUIRED;
  modalView.localErrors = missing;
  showErrors({ ...(m.errors || {}), ...missing });
  if (Object.keys(missing).length) return;
  btn.disabled = true;
  const res = await post("/sandbox/api/submit", { user: me, view_id: m.id, state: { values } });
  btn.disabled = false;
  if (res.ok && res.errors && Object.keys(res.errors).length && modalView?.id === m.id) {
    modalView.localErrors = res.errors;
    showErrors({ ...(state.modal?.errors || {}), ...res.errors });
  }
}

// ------------------------------------------------------------------ sidebar & page

function renderSidebar() {
  const sw = $("#user-switcher");
  const sig = JSON.stringify(state.users);
  if (sw.dataset.sig !== sig) {
    sw.replaceChildren(...state.users.map((u) => h("option", { value: u.id }, `${u.real_name || u.name}${u.title ? " — " + u.title : ""}`)));
    sw.dataset.sig = sig;
  }
  if (document.activeElement !== sw) sw.value = me;
  const mine = userById(me);
  const av = $("#me-avatar");
  av.textContent = initials(mine?.real_name || mine?.name);
  av.style.background = colorOf(me);
  av.title = mine ? `Acting as ${mine.real_name}` : "";

  $("#channel-list").replaceChildren(...state.channels.map((c) => {
    const unread = (state.messages[c.id] || []).filter((m) => parseFloat(m.ts) > parseFloat(seen[c.id] ?? "0")).length;
    const current = ui.tab === "channel" && ui.channel === c.id;
    return h("li", {}, h("button", {
      type: "button", class: `side-item${current ? " active" : ""}${unread && !current ? " unread" : ""}`,
      "data-channel": c.id, "aria-current": current ? "page" : null, onclick: () => selectTab("channel", c.id),
    }, h("span", { class: "hash", "aria-hidden": "true" }, "#"), c.name, unread && !current ? h("span", { class: "badge" }, unread) : null));
  }));
  $("#nav-home").classList.toggle("active", ui.tab === "home");
  $("#nav-github").classList.toggle("active", ui.tab === "github");
  const open = (state.github?.prs || []).filter((p) => p.state === "open").length;
  const badge = $("#gh-badge");
  badge.hidden = !open;
  badge.textContent = open;
}

function selectTab(tab, channel) {
  ui.tab = tab;
  if (channel) ui.channel = channel;
  saveUI();
  if (tab === "home") post("/sandbox/api/home", { user: me });
  render();
  if (tab === "channel") $("#composer").focus();
}

function renderBanner() {
  const b = state.bot || {};
  const banner = $("#problem-banner");
  const text = b.problem || (b.ready === false ? "Hotfix Bot is starting…" : "");
  banner.hidden = !text;
  banner.textContent = text;
  banner.classList.toggle("banner-wait", !b.problem);
}

function render() {
  if (!state) return;
  epoch = JSON.stringify([me, state.users, state.channels]);
  if (!channelById(ui.channel)) ui.channel = state.channels[0]?.id ?? null;
  if (ui.thread && !channelById(ui.thread.channel)) ui.thread = null;
  renderBanner();
  renderSidebar();
  for (const tab of ["channel", "home", "github"]) $(`#${tab}-view`).hidden = ui.tab !== tab;
  if (ui.tab === "channel") renderChannel();
  if (ui.tab === "home") renderHome();
  if (ui.tab === "github") renderGitHub();
  renderThread();
  renderWorld();
  renderModal();
}

// ------------------------------------------------------------------ polling

let polling = false;
let again = false;
let stale = false; // render the next state even if its version is the same (user switched)

async function refresh() {
  if (polling) { again = true; return; }
  polling = true;
  try {
    const r = await fetch(`/sandbox/api/state${me ? "?user=" + encodeURIComponent(me) : ""}`, { cache: "no-store" });
    if (!r.ok) throw new Error(String(r.status));
    const s = await r.json();
    $("#offline-banner").hidden = true;
    const changed = !state || stale || s.version !== state.version || s.me !== me;
    stale = false;
    const first = !state;
    if (changed) {
      state = s;
      me = s.me;
      for (const k of Object.keys(picked)) delete picked[k];
      for (const [k, v] of Object.entries(s.picked || {})) picked[`${me}|${k}`] = v;
      localStorage.setItem("sandbox.me", me);
      if (first) firstState();
      render();
    }
  } catch {
    $("#offline-banner").hidden = false;
  } finally {
    polling = false;
    if (again) { again = false; refresh(); }
  }
}

// First state of this page load: on a first visit every channel counts as read; reopen Home.
function firstState() {
  // A link from elsewhere (a PR's or a dashboard's) opens its tab: /sandbox#github, #home.
  const wanted = location.hash.slice(1);
  if (wanted === "github" || wanted === "home") { ui.tab = wanted; saveUI(); }
  if (!storedSeen) {
    for (const c of state.channels) seen[c.id] = state.messages[c.id]?.at(-1)?.ts ?? "0";
    localStorage.setItem(LS_SEEN, JSON.stringify(seen));
  }
  if (ui.tab === "home") post("/sandbox/api/home", { user: me });
}

function loop() { refresh().finally(() => setTimeout(loop, POLL_MS)); }

// ------------------------------------------------------------------ composers & wiring

function wireComposer(box, sendBtn, threadOf) {
  const send = async () => {
    const text = box.value.trim();
    if (!text) return;
    if (!text.startsWith("/")) { toast("The sandbox sends slash commands only: try /hotfix help"); return; }
    const thread = threadOf();
    const channel = thread ? thread.channel : ui.channel;
    sendBtn.disabled = true;
    const res = await post("/sandbox/api/command", { user: me, channel, thread_ts: thread ? thread.ts : null, text });
    sendBtn.disabled = false;
    if (res.ok && box.value.trim() === text) { box.value = ""; grow(box); }
  };
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  box.addEventListener("input", () => grow(box));
  sendBtn.addEventListener("click", send);
}
function grow(box) { box.style.height = "auto"; box.style.height = Math.min(box.scrollHeight, 200) + "px"; }

function init() {
  wireComposer($("#composer"), $("#send"), () => null);
  wireComposer($("#thread-composer"), $("#thread-send"), () => ui.thread);
  $("#thread-close").addEventListener("click", () => { ui.thread = null; saveUI(); render(); });
  $("#nav-home").addEventListener("click", () => selectTab("home"));
  $("#nav-github").addEventListener("click", () => selectTab("github"));
  const sw = $("#user-switcher");
  sw.addEventListener("change", async () => {
    const before = me;
    me = sw.value; // act as the new user already for the refresh that follows the POST
    stale = true;
    const res = await post("/sandbox/api/me", { user: me });
    if (!res.ok) { me = before; sw.value = before; return; }
    localStorage.setItem("sandbox.me", me);
    if (ui.tab === "home") post("/sandbox/api/home", { user: me });
    sw.blur();
  });
  document.addEventListener("click", closeMenus);
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    if (confirmCancel) confirmCancel();
    else if (document.querySelector(".menu:not([hidden])")) closeMenus();
    else if (modalView) post("/sandbox/api/close", { user: me, view_id: modalView.id });
  });
  loop();
}

document.addEventListener("DOMContentLoaded", init);
