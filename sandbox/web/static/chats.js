// Chat simulator: customer groups, reps' 1:1 chats, kf chats, Official Account followers and each member's chat with
// the app, each with its messages and a box to type as anyone in it. User text only ever reaches the page as text.
"use strict";

(() => {
  const { node } = window.SimRender;
  const { kfRows, appRows, massRow } = window.SimRows;
  const FAULT_NAMES = { corrupt_msg: "密文损坏", corrupt_key: "密钥损坏", unknown_key: "未知公钥版本" };
  const APP_KINDS = new Set(["app_message", "app_message_dropped", "app_message_duplicate", "member_app_text"]);
  const ROBOT = "__robot__";

  let state = null;
  let archive = [];
  let oaLines = [];
  let appLines = [];
  let massLines = [];
  let kfChats = [];
  let selected = "";
  let lastRender = "";

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

  function kfAccountName(openKfid) {
    const account = (state.kf_accounts || []).find((a) => a.open_kfid === openKfid);
    return account ? account.name : "微信客服";
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
    list.push({ key: "kf:new", kind: "kf", title: "微信客服 · 新客户进线", kfChat: null });
    for (const chat of kfChats) {
      const title = `微信客服 · ${chat.name || nameOf(chat.external_userid)}（${kfAccountName(chat.open_kfid)}）`;
      list.push({ key: `kf:${chat.open_kfid}:${chat.external_userid}`, kind: "kf", title, kfChat: chat });
    }
    for (const member of state.members) {
      const count = appLines.filter((line) => line.userid === member.userid).length;
      list.push({ key: `app:${member.userid}`, kind: "app", title: `应用消息 · ${member.name}${count ? `（${count}）` : ""}`, member });
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
      const chat = conversation.kfChat;
      if (!chat) return [["as:new", "新客户（new）"]];
      const servicers = state.members.map((m) => [`member:${m.userid}`, `${m.name}（接待人员）`]);
      return [[`as:${chat.external_userid}`, `${chat.name || nameOf(chat.external_userid)}（客户）`]].concat(servicers);
    }
    if (conversation.kind === "app") {
      return [[`member:${conversation.member.userid}`, `${conversation.member.name}（成员，发给应用）`]];
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
    return `[${message.msgtype || message.action}]`;
  }

  function archivedRow(item, recalled) {
    const message = item.message;
    const fault = item.fault ? `（${FAULT_NAMES[item.fault] || item.fault}，机器人无法解密）` : "";
    const canRecall = message.action === "send" && !item.fault && !recalled.has(item.msgid);
    return node("li", { class: message.action === "recall" ? "system" : "" },
      node("span", { class: "who" }, nameOf(message.from || message.user || "")),
      node("span", { class: "when" }, `#${item.seq} · ${message.msgtime ? clock(message.msgtime) : ""}`),
      recalled.has(item.msgid) ? node("span", { class: "tag" }, "已撤回") : null,
      node("div", { class: "text" }, archivedText(message) + fault),
      canRecall ? node("button", { type: "button", class: "link", "data-recall": item.msgid }, "撤回") : null);
  }

  function archivedRows(key) {
    const recalled = new Set(archive.filter((i) => i.message.action === "recall" && i.message.revoke)
      .map((i) => i.message.revoke.pre_msgid));
    const rows = archive.filter((item) => item.chat === key)
      .map((item) => [item.message.msgtime || 0, archivedRow(item, recalled)]);
    for (const line of massLines) {
      const lineKey = line.chat_type === "group" ? `room:${line.chat_id}` : `single:${line.sender}:${line.external_userid}`;
      if (lineKey === key) rows.push([Date.parse(line.at), massRow(line, nameOf)]);
    }
    return rows.sort((a, b) => a[0] - b[0]).map(([, row]) => row);
  }

  function oaRows(openid) {
    return oaLines.filter((line) => line.openid === openid).map((line) => node("li", { class: line.direction },
      node("span", { class: "who" }, line.direction === "in" ? "粉丝" : "公众号（机器人）"),
      node("span", { class: "when" }, clock(line.at * 1000)),
      node("div", { class: "text" }, line.msgtype === "event" ? `【${line.content}】` : line.content)));
  }

  function rowsFor(conversation) {
    if (conversation.kind === "oa") return oaRows(conversation.follower.openid);
    if (conversation.kind === "kf") return kfRows(conversation.kfChat, nameOf);
    if (conversation.kind === "app") return appRows(appLines.filter((line) => line.userid === conversation.member.userid), nameOf);
    return archivedRows(conversation.key);
  }

  // ---- rendering -------------------------------------------------------------------------------------------

  function render() {
    if (!state) return;
    const list = conversations();
    if (!list.some((c) => c.key === selected)) selected = list.length ? list[0].key : "";
    const signature = JSON.stringify([list.map((c) => [c.key, c.title]), selected, archive.length, oaLines.length,
      appLines.length, massLines.length, kfChats, state.archive]);
    if (signature === lastRender) return;
    lastRender = signature;
    const current = list.find((c) => c.key === selected);
    document.getElementById("chat-list").replaceChildren(...list.map((c) => node("button",
      { type: "button", class: c.key === selected ? "chat selected" : "chat", "data-chat": c.key }, c.title)));
    document.getElementById("chat-archive").textContent = state.archive.enabled
      ? `会话存档已开启 · 最新 seq ${state.archive.last_seq} · 公钥版本 ${state.archive.publickey_ver}`
      : "会话存档未开启（沙箱未设置 SANDBOX_ARCHIVE_PUBLIC_KEY）：消息只在此处显示，机器人拉取不到";
    document.getElementById("chat-title").textContent = current ? current.title : "没有会话";
    const box = document.getElementById("chat-messages");
    box.replaceChildren(...(current ? rowsFor(current) : []));
    box.scrollTop = box.scrollHeight;
    fillSpeakers(current);
  }

  function fillSpeakers(conversation) {
    const select = document.getElementById("chat-speaker");
    const choices = conversation ? speakers(conversation) : [];
    const signature = JSON.stringify(choices);
    if (select.dataset.signature !== signature) {
      // The same conversation keeps its speaker across refreshes; another one starts with its first (a customer).
      const previous = select.dataset.conversation === selected ? select.value : "";
      select.replaceChildren(...choices.map(([value, label]) => node("option", { value }, label)));
      if (choices.some(([value]) => value === previous)) select.value = previous;
      select.dataset.signature = signature;
      select.dataset.conversation = selected;
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
    if (conversation.kind === "app") return ["member-app-say", { member: id, text }];
    if (conversation.kind === "kf") {
      const chat = conversation.kfChat;
      if (role === "member") return ["kf-servicer-say", { member: id, customer: chat.external_userid, open_kfid: chat.open_kfid, text }];
      return ["kf-say", chat ? { customer: id, open_kfid: chat.open_kfid, text } : { customer: id, text }];
    }
    const target = conversation.kind === "room" ? conversation.group.chat_id
      : role === "as" ? conversation.chat.member : conversation.chat.customer;
    if (kind !== "text") return ["say-media", { ...who, in: target, kind }];
    return ["say", { ...who, in: target, text }];
  }

  function describe(action, result) {
    if (action === "member-app-say") return "已按企业微信的方式把消息加密推送给机器人（应用消息回调）";
    if (action.startsWith("kf-")) return "已交给微信客服引擎，机器人收到 kf_msg_or_event 后拉取";
    const message = result.message;
    if (!message) return "已发送";
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
      showResult(true, describe(action, result));
      if (kind === "text") textBox.value = "";
    } catch (error) {
      showResult(false, `发送失败：${error.message}`);
    }
    document.dispatchEvent(new CustomEvent("sandbox:refresh"));
  }

  // The customer taps a star: WeChat sends it back as a text message carrying text.menu_id.
  async function clickMenu(button) {
    const conversation = conversations().find((c) => c.key === selected);
    if (!conversation || !conversation.kfChat) return;
    const chat = conversation.kfChat;
    try {
      await post("kf-click", { customer: chat.external_userid, open_kfid: chat.open_kfid, menu_id: button.dataset.kfClick,
        msgid: button.dataset.kfMsgid });
      showResult(true, `已以客户身份点击「${button.textContent}」`);
    } catch (error) {
      showResult(false, `点击失败：${error.message}`);
    }
    document.dispatchEvent(new CustomEvent("sandbox:refresh"));
  }

  async function recallMessage(msgid) {
    try {
      const result = await post("recall", { msgid });
      showResult(true, `已撤回，存档 seq ${result.message.seq}`);
    } catch (error) {
      showResult(false, `撤回失败：${error.message}`);
    }
    document.dispatchEvent(new CustomEvent("sandbox:refresh"));
  }

  // ---- the feed (simulator.js polls /sandbox/feed and hands each answer over) ----------------------------------

  document.addEventListener("sandbox:feed", (event) => {
    const feed = event.detail;
    state = feed.state;
    archive = archive.concat(feed.archive.messages);
    oaLines = oaLines.concat(feed.oa.messages);
    kfChats = feed.kf.chats;
    for (const entry of feed.log.entries) {
      if (APP_KINDS.has(entry.kind)) appLines.push(entry);
      else if (entry.kind === "mass_message") massLines.push(entry);
    }
    render();
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
      const recall = event.target.closest("button[data-recall]");
      if (recall) recallMessage(recall.dataset.recall);
      const star = event.target.closest("button[data-kf-click]");
      if (star && !star.disabled) clickMenu(star);
    });
    document.getElementById("chat-send").addEventListener("click", send);
    document.getElementById("chat-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) send();
    });
  });
})();
