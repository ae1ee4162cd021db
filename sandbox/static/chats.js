// Chat simulator: customer groups, reps' 1:1 chats, kf chats and Official Account followers, each with its
// messages and a box to type as anyone in it. User text only ever reaches the page as text nodes.
"use strict";

(() => {
  const MEDIA_NAMES = { image: "图片", file: "文件", voice: "语音" };
  const FAULT_NAMES = { corrupt_msg: "密文损坏", corrupt_key: "密钥损坏", unknown_key: "未知公钥版本" };
  const KF_ORIGINS = { 3: "客户", 4: "系统", 5: "客服" };
  const ROBOT = "__robot__";

  let state = null;
  let archive = [];
  let archiveSeq = 0;
  let oaLines = [];
  let oaSeq = 0;
  let kfChats = null;
  let selected = "";
  let lastRender = "";

  function node(tag, attrs, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") element.className = value;
      else element.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return element;
  }

  function nameOf(id) {
    if (!state) return id;
    const member = state.members.find((m) => m.userid === id);
    if (member) return member.name;
    const customer = state.customers.find((c) => c.external_userid === id);
    if (customer) return customer.name;
    if (String(id).startsWith("wb")) return "群机器人";
    return id;
  }

  function clock(ms) {
    return new Date(ms).toLocaleString("zh-CN", { hour12: false });
  }

  // ---- conversations ---------------------------------------------------------------------------------------

  function conversations() {
    const list = [];
    for (const group of state.groups) {
      list.push({ key: `room:${group.chat_id}`, kind: "room", title: `客户群 · ${group.name}`, group });
    }
    for (const chat of state.chats) {
      if (!chat.active && !chat.messages) continue;
      const title = `单聊 · ${nameOf(chat.member)} ↔ ${nameOf(chat.customer)}${chat.active ? "" : "（已不是好友）"}`;
      list.push({ key: chat.chat, kind: "single", title, chat });
    }
    if (archive.some((item) => item.chat === "other")) list.push({ key: "other", kind: "other", title: "其他存档（注入）" });
    for (const follower of state.oa_followers) {
      const tail = follower.subscribed ? "" : "（已取关）";
      list.push({ key: `oa:${follower.openid}`, kind: "oa", title: `公众号 · ${follower.nickname}${tail}`, follower });
    }
    if (kfChats !== null) {
      list.push({ key: "kf:new", kind: "kf", title: "微信客服 · 新客户进线", kfChat: null });
      kfChats.forEach((chat, index) => {
        const customer = chat.external_userid || chat.customer || "";
        const title = `微信客服 · ${chat.customer_name || nameOf(customer)}`;
        list.push({ key: `kf:${chat.open_kfid || ""}:${customer || index}`, kind: "kf", title, kfChat: chat });
      });
    }
    return list;
  }

  function speakers(conversation) {
    if (conversation.kind === "room") {
      const people = conversation.group.member_list.map((m) => [
        m.type === 2 ? `as:${m.userid}` : `member:${m.userid}`,
        `${m.name}（${m.type === 2 ? "客户" : "成员"}）`,
      ]);
      return people.concat([[ROBOT, "群机器人"]]);
    }
    if (conversation.kind === "single") {
      const { member, customer } = conversation.chat;
      return [[`as:${customer}`, `${nameOf(customer)}（客户）`], [`member:${member}`, `${nameOf(member)}（成员）`]];
    }
    if (conversation.kind === "oa") {
      return [[`as:${conversation.follower.openid}`, `${conversation.follower.nickname}（粉丝）`]];
    }
    if (conversation.kind === "kf") {
      const customer = conversation.kfChat ? conversation.kfChat.external_userid || conversation.kfChat.customer : "new";
      const label = customer === "new" ? "新客户（new）" : `${nameOf(customer)}（客户）`;
      const servicers = state.members.map((m) => [`member:${m.userid}`, `${m.name}（客服）`]);
      return [[`as:${customer}`, label]].concat(conversation.kfChat ? servicers : []);
    }
    return [];
  }

  // ---- message rows ----------------------------------------------------------------------------------------

  function archivedText(message) {
    const body = message[message.msgtype];
    if (message.msgtype === "text" && body && typeof body.content === "string") return body.content;
    if (message.msgtype === "revoke") return "撤回了一条消息";
    if (message.msgtype === "image") return `[图片 ${Math.round(body.filesize / 1024)} KB]`;
    if (message.msgtype === "file") return `[文件 ${body.filename}]`;
    if (message.msgtype === "voice") return `[语音 ${body.play_length} 秒]`;
    return `[${message.msgtype || message.action}] ${JSON.stringify(body === undefined ? message : body)}`;
  }

  function archivedRows(key) {
    const recalled = new Set(archive.filter((i) => i.message.action === "recall" && i.message.revoke)
      .map((i) => i.message.revoke.pre_msgid));
    return archive.filter((item) => item.chat === key).map((item) => {
      const message = item.message;
      const fault = item.fault ? `（${FAULT_NAMES[item.fault] || item.fault}，机器人无法解密）` : "";
      const canRecall = message.action === "send" && !item.fault && !recalled.has(item.msgid);
      return node("li", { class: message.action === "recall" ? "system" : "" },
        node("span", { class: "who" }, nameOf(message.from || message.user || "")),
        node("span", { class: "when" }, `#${item.seq} · ${message.msgtime ? clock(message.msgtime) : ""}`),
        recalled.has(item.msgid) ? node("span", { class: "tag" }, "已撤回") : null,
        node("div", { class: "text" }, archivedText(message) + fault),
        canRecall ? node("button", { type: "button", class: "link", "data-recall": item.msgid }, "撤回") : null);
    });
  }

  function oaRows(openid) {
    return oaLines.filter((line) => line.openid === openid).map((line) => node("li", { class: line.direction },
      node("span", { class: "who" }, line.direction === "in" ? "粉丝" : "公众号（机器人）"),
      node("span", { class: "when" }, clock(line.at * 1000)),
      node("div", { class: "text" }, line.msgtype === "event" ? `【${line.content}】` : line.content)));
  }

  function kfRows(chat) {
    if (!chat) return [node("li", { class: "system" }, node("div", { class: "text" }, "以新客户身份发第一条消息，客服引擎会为其创建会话。"))];
    const messages = chat.messages || chat.msg_list || [];
    return messages.map((m) => {
      const who = m.origin === 5 ? nameOf(m.servicer_userid || "") : KF_ORIGINS[m.origin] || m.sender || "";
      const text = m.text && typeof m.text.content === "string" ? m.text.content : m.content || JSON.stringify(m);
      return node("li", { class: m.origin === 3 ? "in" : "out" }, node("span", { class: "who" }, who),
        node("span", { class: "when" }, m.send_time ? clock(m.send_time * 1000) : ""), node("div", { class: "text" }, text));
    });
  }

  function rowsFor(conversation) {
    if (conversation.kind === "oa") return oaRows(conversation.follower.openid);
    if (conversation.kind === "kf") return kfRows(conversation.kfChat);
    return archivedRows(conversation.key);
  }

  // ---- rendering -------------------------------------------------------------------------------------------

  function render() {
    if (!state) return;
    const list = conversations();
    if (!list.some((c) => c.key === selected)) selected = list.length ? list[0].key : "";
    const signature = JSON.stringify([list.map((c) => [c.key, c.title]), selected, archive.length, oaLines.length,
      kfChats, state.archive]);
    if (signature === lastRender) return;
    lastRender = signature;
    const current = list.find((c) => c.key === selected);
    document.getElementById("chat-list").replaceChildren(...list.map((c) => node("button",
      { type: "button", class: c.key === selected ? "chat selected" : "chat", "data-chat": c.key }, c.title)));
    const archiveNote = state.archive.enabled
      ? `会话存档已开启 · 最新 seq ${state.archive.last_seq} · 公钥版本 ${state.archive.publickey_ver}`
      : "会话存档未开启（沙箱未设置 SANDBOX_ARCHIVE_PUBLIC_KEY）：消息只在此处显示，机器人拉取不到";
    document.getElementById("chat-archive").textContent = kfChats === null ? `${archiveNote} · 微信客服引擎未运行` : archiveNote;
    document.getElementById("chat-title").textContent = current ? current.title : "没有会话";
    document.getElementById("chat-messages").replaceChildren(...(current ? rowsFor(current) : []));
    fillSpeakers(current);
  }

  function fillSpeakers(conversation) {
    const select = document.getElementById("chat-speaker");
    const choices = conversation ? speakers(conversation) : [];
    const signature = JSON.stringify(choices);
    if (select.dataset.signature !== signature) {
      const previous = select.value;
      select.replaceChildren(...choices.map(([value, label]) => node("option", { value }, label)));
      if (choices.some(([value]) => value === previous)) select.value = previous;
      select.dataset.signature = signature;
    }
    const archived = conversation && (conversation.kind === "room" || conversation.kind === "single");
    document.getElementById("chat-kind").disabled = !archived;
    if (!archived) document.getElementById("chat-kind").value = "text";
    document.getElementById("chat-compose").hidden = !conversation || conversation.kind === "other";
  }

  // ---- actions ---------------------------------------------------------------------------------------------

  function showResult(ok, text) {
    const box = document.getElementById("chat-result");
    box.hidden = false;
    box.className = ok ? "result ok" : "result bad";
    box.textContent = text;
  }

  async function post(action, body) {
    const response = await fetch(`/sandbox/act/${action}`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error ? data.error.message : `HTTP ${response.status}`);
    return data;
  }

  function request(conversation, speaker, kind, text) {
    const [role, id] = speaker === ROBOT ? ["robot", ""] : [speaker.slice(0, speaker.indexOf(":")), speaker.slice(speaker.indexOf(":") + 1)];
    const who = role === "as" ? { as: id } : { member: id };
    if (conversation.kind === "room" && role === "robot") return ["robot-say", { group: conversation.group.chat_id, text }];
    if (conversation.kind === "oa") return ["say", { as: id, in: "oa", text }];
    if (conversation.kind === "kf") {
      const customer = conversation.kfChat ? conversation.kfChat.external_userid || conversation.kfChat.customer : "new";
      return ["say", role === "as" ? { as: id, in: "kf", text } : { member: id, as: customer, in: "kf", text }];
    }
    const target = conversation.kind === "room" ? conversation.group.chat_id
      : role === "as" ? conversation.chat.member : conversation.chat.customer;
    if (kind !== "text") return ["say-media", { ...who, in: target, kind }];
    return ["say", { ...who, in: target, text }];
  }

  function describe(result) {
    const message = result.message;
    if (!message) return "已交给微信客服引擎";
    if (message.channel === "oa") return `已推送公众号回调（MsgId ${message.msgid || "—"}）`;
    return `已存档 seq ${message.seq}（msgid ${message.msgid}）${result.delivery_ids.length ? "，已推送 msgaudit_notify" : ""}`;
  }

  async function send() {
    const conversation = conversations().find((c) => c.key === selected);
    const textBox = document.getElementById("chat-text");
    const kind = document.getElementById("chat-kind").value;
    const text = textBox.value;
    if (!conversation || (kind === "text" && !text.trim())) return;
    try {
      const [action, body] = request(conversation, document.getElementById("chat-speaker").value, kind, text);
      const result = await post(action, body);
      showResult(true, describe(result));
      if (kind === "text") textBox.value = "";
    } catch (error) {
      showResult(false, `发送失败：${error.message}`);
    }
    refreshMessages();
  }

  async function recallMessage(msgid) {
    try {
      const result = await post("recall", { msgid });
      showResult(true, `已撤回，存档 seq ${result.message.seq}`);
    } catch (error) {
      showResult(false, `撤回失败：${error.message}`);
    }
    refreshMessages();
  }

  // ---- polling ---------------------------------------------------------------------------------------------

  // One fetch at a time: two in flight with the same `since` would add the same messages twice.
  let loading = null;

  function refreshMessages() {
    if (!loading) loading = loadMessages().finally(() => { loading = null; });
    return loading;
  }

  async function loadMessages() {
    try {
      const [archived, oa, kf] = await Promise.all([
        fetch(`/sandbox/archive/messages?since=${archiveSeq}`).then((r) => r.json()),
        fetch(`/sandbox/oa/messages?since=${oaSeq}`).then((r) => r.json()),
        fetch("/sandbox/kf/chats").then((r) => (r.ok ? r.json() : null)).catch(() => null),
      ]);
      archive = archive.concat(archived.messages);
      archiveSeq = archived.last_seq;
      oaLines = oaLines.concat(oa.messages);
      oaSeq = oa.last_n;
      kfChats = kf === null ? null : Array.isArray(kf) ? kf : kf.chats || [];
    } catch (error) {
      // The corp panel above already shows that the sandbox is unreachable.
    }
    render();
  }

  document.addEventListener("sandbox:state", (event) => {
    state = event.detail;
    refreshMessages();
  });

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("chat-list").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-chat]");
      if (!button) return;
      selected = button.dataset.chat;
      document.getElementById("chat-result").hidden = true;
      render();
    });
    document.getElementById("chat-messages").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-recall]");
      if (button) recallMessage(button.dataset.recall);
    });
    document.getElementById("chat-send").addEventListener("click", send);
    document.getElementById("chat-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) send();
    });
  });
})();
