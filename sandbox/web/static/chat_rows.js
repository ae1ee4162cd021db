// Rows of the chat view that are not archive lines: a kf chat as its customer sees it, a member's chat with the app,
// and a confirmed mass message. `nameOf` turns a userid or external_userid into the name a person knows.
"use strict";

window.SimRows = (() => {
  const { node, kfBody, appBody } = window.SimRender;
  const KF_SPEAKERS = { customer: "客户", system: "系统", api: "机器人（API）" };
  const KF_STATES = { 0: "未处理", 1: "智能助手接待", 2: "待接入池", 3: "人工接待", 4: "已结束" };
  const DROP_REASONS = { member_per_minute: "超过每分钟 30 条", member_per_hour: "超过每小时 1000 条", app_daily_cap: "超过应用每日上限" };

  function clock(ms) {
    return new Date(ms).toLocaleString("zh-CN", { hour12: false });
  }

  // A mass message a member confirmed lands in the chat as that member's message (shown here, not archived).
  function massRow(line, nameOf) {
    const extra = line.attachments ? `（附件 ${line.attachments} 个）` : "";
    return node("li", { class: "out" }, node("span", { class: "who" }, nameOf(line.sender)),
      node("span", { class: "when" }, clock(Date.parse(line.at))), node("span", { class: "tag plain" }, "企业群发"),
      node("div", { class: "text" }, `${line.text || ""}${extra}`));
  }

  function kfRows(chat, nameOf) {
    if (!chat) return [node("li", { class: "system" }, node("div", { class: "text" }, "以新客户身份发第一条消息，客服引擎会为其创建会话。"))];
    const status = node("li", { class: "system" }, node("div", { class: "text" },
      `会话状态：${KF_STATES[chat.service_state] || chat.service_state}${chat.servicer_userid ? ` · 接待人员 ${nameOf(chat.servicer_userid)}` : ""}` +
      ` · 48 小时内还可下发 ${chat.sends_left} 条`));
    const lines = (chat.messages || []).map((line) => {
      const who = line.from === "servicer" ? `${nameOf(line.message.servicer_userid || "")}（接待人员）` : KF_SPEAKERS[line.from] || line.from;
      const via = line.via ? ` · ${line.via}` : "";
      return node("li", { class: line.from === "customer" ? "in" : line.from === "system" ? "system" : "out", "data-kf-line": line.msgtype },
        node("span", { class: "who" }, who), node("span", { class: "when" }, `${clock(line.send_time * 1000)}${via}`),
        line.failed ? node("span", { class: "tag" }, "发送失败") : null,
        node("div", { class: "text" }, kfBody(line.message, line.msgtype, line.msgid, line.from === "api")));
    });
    return [status].concat(lines);
  }

  function appRows(lines, nameOf) {
    if (!lines.length) return [node("li", { class: "system" }, node("div", { class: "text" }, "应用还没有给该成员发过消息。成员可以在下方给应用发消息，如「工单」「认领 T1」。"))];
    return lines.map((line) => {
      const when = node("span", { class: "when" }, clock(Date.parse(line.at)));
      if (line.kind === "member_app_text") {
        return node("li", { class: "in" }, node("span", { class: "who" }, `${nameOf(line.userid)}（发给应用）`), when, node("div", { class: "text" }, line.text));
      }
      const note = line.kind === "app_message_dropped" ? `未送达：${DROP_REASONS[line.reason] || line.reason}`
        : line.kind === "app_message_duplicate" ? "重复请求，未再次送达" : "";
      return node("li", { class: note ? "out dropped" : "out", "data-app-msgtype": line.msgtype },
        node("span", { class: "who" }, "应用（机器人）"), when, note ? node("span", { class: "tag" }, note) : null,
        line.message ? appBody(line) : node("div", { class: "text" }, line.content || ""));
    });
  }

  return { kfRows, appRows, massRow };
})();
