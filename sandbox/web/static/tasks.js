// Mass-task page: lists every add_msg_template task from GET /sandbox/tasks and lets a member confirm their part
// (POST /sandbox/act/confirm-task). User text only ever goes into text nodes, never parsed as markup.
"use strict";

const PART_STATUS = { 0: "未发送", 2: "已发送" };
const TARGET_STATUS = { 0: "未发送", 1: "已发送", 2: "非好友，未发送", 3: "超过本月上限，未发送" };

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

function formatTime(epoch) {
  return new Date(epoch * 1000).toLocaleString("zh-CN", { hour12: false });
}

function showResult(ok, text) {
  const box = document.getElementById("result");
  box.hidden = false;
  box.className = ok ? "result ok" : "result bad";
  box.textContent = text;
}

async function confirmPart(msgid, member) {
  try {
    const response = await fetch("/sandbox/act/confirm-task", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ msgid, member }),
    });
    const result = await response.json();
    if (response.ok) showResult(true, `${member} 已确认发送群发 ${msgid}`);
    else showResult(false, `确认失败：${result.error.message}`);
  } catch (error) {
    showResult(false, `请求失败：${error}`);
  }
  refresh();
}

function partStatus(task, part) {
  if (part.cancelled) return "已停止";
  if (!task.dispatched) return "派发中";
  return PART_STATUS[part.status] || String(part.status);
}

function contentText(task) {
  const files = task.attachments.length ? `（附件 ${task.attachments.length} 个）` : "";
  return `${task.text}${files}`;
}

function partRow(task, part, first) {
  const targets = el("ul", {}, ...part.targets.map((t) => el("li", {}, `${t.name}：${TARGET_STATUS[t.status] || t.status}`)));
  const action = part.can_confirm ? el("button", { type: "button" }, "确认发送") : partStatus(task, part);
  if (part.can_confirm) action.addEventListener("click", () => confirmPart(task.msgid, part.userid));
  const cells = first ? [
    el("td", {}, formatTime(task.create_time)),
    el("td", {}, el("code", {}, task.msgid)),
    el("td", {}, task.chat_type === "group" ? "客户群" : "客户"),
    el("td", {}, contentText(task)),
  ] : [el("td", {}), el("td", {}), el("td", {}), el("td", {})];
  return el("tr", {}, ...cells, el("td", {}, `${part.name}（${part.userid}）`), el("td", {}, targets), el("td", {}, action));
}

async function refresh() {
  try {
    const data = await fetch("/sandbox/tasks").then((r) => r.json());
    document.getElementById("now").textContent = formatTime(data.now);
    document.getElementById("auto").textContent = data.auto_confirm_s === null ? "关闭" : `${data.auto_confirm_s} 秒后`;
    const rows = data.tasks.flatMap((task) => task.parts.map((part, index) => partRow(task, part, index === 0)));
    document.getElementById("tasks").replaceChildren(...rows);
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
  refresh();
  setInterval(refresh, 2000);
});
