// Customer simulator: polls /sandbox/feed every two seconds (not while the tab is hidden) and posts simulated client
// actions; chats.js renders the conversations from the same answer.
// Every piece of user text goes through text nodes, never parsed as markup, so nicknames cannot inject HTML.
"use strict";

const LOG_KEEP = 200;
const TYPE_NAMES = { 1: "成员", 2: "客户" };
const SCENE_NAMES = { 1: "成员邀请", 2: "邀请链接", 3: "扫码" };
const OUTCOME_NAMES = { ok: "成功", timeout: "超时", connection_error: "连接失败", gave_up: "放弃" };

const POLL_MS = 2000;

let lastSeq = 0;
let archiveSeq = 0;
let oaSeq = 0;
let logRows = [];
let loading = null;
let currentState = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function replaceChildren(id, nodes) {
  document.getElementById(id).replaceChildren(...nodes);
}

function formatTime(epoch) {
  return new Date(epoch * 1000).toLocaleString("zh-CN", { hour12: false });
}

function nameOf(state, id) {
  const member = state.members.find((m) => m.userid === id);
  if (member) return member.name;
  const customer = state.customers.find((c) => c.external_userid === id);
  return customer ? customer.name : id;
}

function optionsFor(state, source) {
  if (source === "members") return state.members.map((m) => [m.userid, `${m.name}（${m.userid}）`]);
  if (source === "customers") return state.customers.map((c) => [c.external_userid, c.name]);
  return state.groups.map((g) => [g.chat_id, g.name]);
}

// Rebuild a select only when its choices change, so a half-filled form survives the refresh.
function fillSelect(select, state) {
  const choices = optionsFor(state, select.dataset.source);
  if (select.dataset.optional) choices.unshift(["", "（默认）"]);
  const signature = JSON.stringify(choices);
  if (select.dataset.signature === signature) return;
  const previous = select.value;
  select.replaceChildren(...choices.map(([value, label]) => el("option", { value }, label)));
  if (choices.some(([value]) => value === previous)) select.value = previous;
  select.dataset.signature = signature;
}

function renderMembers(state) {
  replaceChildren("members", state.members.map((m) => el("tr", {}, el("td", {}, el("code", {}, m.userid)),
    el("td", {}, m.name), el("td", {}, m.position))));
}

function followText(follow) {
  const tags = follow.tags.map((t) => t.tag_name).join("、");
  return [follow.userid, follow.remark, tags].filter(Boolean).join(" · ");
}

function renderCustomers(state) {
  const groupNames = Object.fromEntries(state.groups.map((g) => [g.chat_id, g.name]));
  replaceChildren("customers", state.customers.map((c) => el("tr", {},
    el("td", {}, c.name),
    el("td", {}, el("code", {}, c.external_userid)),
    el("td", {}, c.type === 2 ? `企业微信（${c.corp_name || ""}）` : "微信"),
    el("td", {}, c.follows.length ? el("ul", {}, ...c.follows.map((f) => el("li", {}, followText(f)))) : "—"),
    el("td", {}, c.groups.map((id) => groupNames[id] || id).join("、") || "—"))));
}

function renderGroups(state) {
  replaceChildren("groups", state.groups.map((g) => el("div", { class: "group" },
    el("h3", {}, g.name),
    el("div", { class: "meta" }, "群 ID：", el("code", {}, g.chat_id), ` · 群主：${nameOf(state, g.owner)}`,
      ` · ${g.member_list.length} 人 · member_version：`, el("code", {}, g.member_version)),
    g.notice ? el("p", { class: "notice" }, `群公告：${g.notice}`) : null,
    el("ul", { class: "people" }, ...g.member_list.map((m) => el("li", { class: m.type === 2 ? "external" : "internal" },
      `${m.name}（${TYPE_NAMES[m.type]} · ${SCENE_NAMES[m.join_scene] || "—"}）`))))));
}

function outcomeText(entry) {
  if (entry.outcome && entry.outcome.startsWith("http_")) return `HTTP ${entry.http_status}`;
  return OUTCOME_NAMES[entry.outcome] || entry.outcome || "";
}

// What one non-callback log record says, in the words a person would use.
function describeRecord(entry) {
  const who = (id) => {
    const group = currentState && currentState.groups.find((g) => g.chat_id === id);
    return group ? group.name : currentState ? nameOf(currentState, id) : id;
  };
  const TASK_ACTIONS = { created: "创建", confirmed: "成员确认发送", reminded: "提醒成员", cancelled: "停止" };
  switch (entry.kind) {
    case "app_message": return `应用消息 → ${who(entry.userid)}：${entry.content || ""}`;
    case "app_message_dropped": return `应用消息 → ${who(entry.userid)}（未送达：${entry.reason}）：${entry.content || ""}`;
    case "app_message_duplicate": return `应用消息 → ${who(entry.userid)}（重复请求，未再次送达）`;
    case "member_app_text": return `成员 ${who(entry.userid)} → 应用：${entry.text}`;
    case "mass_message": return `群发 ${who(entry.sender)} → ${who(entry.chat_id || entry.external_userid)}：${entry.text || ""}`;
    case "mass_message_skipped": return `群发跳过 ${who(entry.chat_id || entry.external_userid)}：${entry.reason}`;
    case "mass_task": return `群发任务${TASK_ACTIONS[entry.action] || entry.action}${entry.userid ? `（${who(entry.userid)}）` : ""}`;
    case "kf_send": return `微信客服下发（${entry.via}）→ ${who(entry.touser)}：${entry.content || `[${entry.msgtype}]`}`;
    default: {
      const detail = entry.content || entry.text || entry.outcome || entry.reason || "";
      const ok = entry.ok === undefined ? "" : entry.ok ? "（成功）" : "（失败）";
      return `${entry.kind}：${detail} ${ok}`;
    }
  }
}

function logRow(entry) {
  const time = new Date(entry.at).toLocaleTimeString("zh-CN", { hour12: false });
  if (entry.kind !== "callback") {
    return el("tr", {}, el("td", {}, entry.seq), el("td", {}, time), el("td", { colspan: "7", class: "record" }, describeRecord(entry)));
  }
  const ok = entry.outcome === "ok";
  return el("tr", { class: ok ? "ok" : "bad" },
    el("td", {}, entry.seq), el("td", {}, time), el("td", {}, el("code", {}, entry.delivery_id)),
    el("td", {}, `${entry.event} / ${entry.change_type}`), el("td", {}, entry.attempt),
    el("td", {}, entry.duplicate ? "是" : ""), el("td", {}, entry.delayed_s ? `${entry.delayed_s} 秒` : ""),
    el("td", {}, outcomeText(entry)),
    el("td", {}, el("details", {}, el("summary", {}, "查看"), el("pre", {}, entry.plaintext))));
}

function showResult(ok, text) {
  const box = document.getElementById("result");
  box.hidden = false;
  box.className = ok ? "result ok" : "result bad";
  box.textContent = text;
}

function formBody(form) {
  const body = {};
  for (const field of form.elements) {
    if (!field.name) continue;
    if (field.type === "checkbox") body[field.name] = field.checked;
    else if (field.name === "gender") body.gender = Number(field.value);
    else if (field.name === "tags") {
      if (field.value.trim()) body.tags = field.value.split(/[,，、]/).map((t) => t.trim()).filter(Boolean);
    } else if (field.value.trim()) body[field.name] = field.value.trim();
  }
  return body;
}

async function postJson(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}),
  });
  return [response.ok, await response.json()];
}

async function submitAction(form) {
  try {
    if (form.dataset.special === "verify-url") {
      const [, result] = await postJson("/sandbox/verify-url");
      showResult(result.ok, result.ok ? `回调 URL 校验成功（${result.elapsed_ms} 毫秒）`
        : `回调 URL 校验失败：${result.outcome}，期望 ${result.expected}，收到 ${JSON.stringify(result.body)}`);
      return;
    }
    const [ok, result] = await postJson(`/sandbox/act/${form.dataset.action}`, formBody(form));
    if (ok) showResult(true, `操作成功，已排队回调：${result.delivery_ids.join("、") || "（无回调）"}`);
    else showResult(false, `操作失败：${result.error.message}`);
  } catch (error) {
    showResult(false, `请求失败：${error}`);
  }
  refresh();
}

// One request at a time: two in flight with the same cursors would hand chats.js the same messages twice.
function refresh() {
  if (!loading) loading = load().finally(() => { loading = null; });
  return loading;
}

async function load() {
  try {
    const response = await fetch(`/sandbox/feed?log=${lastSeq}&archive=${archiveSeq}&oa=${oaSeq}`);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const feed = await response.json();
    lastSeq = feed.log.last_seq;
    archiveSeq = feed.archive.last_seq;
    oaSeq = feed.oa.last_n;
    const state = feed.state;
    currentState = state;
    document.dispatchEvent(new CustomEvent("sandbox:feed", { detail: feed }));
    document.getElementById("corp-id").textContent = state.corp_id;
    document.getElementById("now").textContent = formatTime(Date.parse(state.now) / 1000);
    document.getElementById("pending").textContent = feed.pending;
    document.querySelectorAll("select[data-source]").forEach((select) => fillSelect(select, state));
    renderMembers(state);
    renderCustomers(state);
    renderGroups(state);
    if (feed.log.entries.length) {
      logRows = feed.log.entries.slice(-LOG_KEEP).reverse().concat(logRows).slice(0, LOG_KEEP);
      replaceChildren("log", logRows.map(logRow));
    }
    setStatus(true);
  } catch (error) {
    setStatus(false);
  }
}

function setStatus(online) {
  const status = document.getElementById("status");
  status.textContent = online ? "已连接" : "无法连接沙箱";
  status.className = online ? "status online" : "status offline";
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form").forEach((form) => form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitAction(form);
  }));
  document.addEventListener("sandbox:refresh", () => refresh());
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  refresh();
  setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
});
