// How messages look to the people in them: kf lines (text, star menus as buttons, links, images), the app's
// messages to a member (text, markdown, text cards, template cards) and mass messages. Text nodes only, never markup.
"use strict";

window.SimRender = (() => {
  const MEDIA = { image: "图片", voice: "语音", video: "视频", file: "文件", emotion: "表情" };
  const KF_EVENTS = {
    enter_session: "客户进入会话",
    msg_send_fail: "消息发送失败",
    servicer_status_change: "接待人员状态变更",
    session_status_change: "会话状态变更",
    user_recall_msg: "客户撤回了一条消息",
    servicer_recall_msg: "接待人员撤回了一条消息",
  };
  // <font color="..."> as classes: the page's CSP allows no inline style.
  const FONT_COLORS = new Set(["info", "comment", "warning"]);

  function node(tag, attrs, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") element.className = value;
      else element.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === "") continue;
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return element;
  }

  // Only http(s) links become anchors: a javascript: URL from the bot must not run in the page.
  function link(url, text) {
    const safe = typeof url === "string" && /^https?:\/\//i.test(url);
    return safe ? node("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, text || url) : node("span", {}, text || url || "");
  }

  function media(kind, body) {
    const name = MEDIA[kind] || kind;
    const detail = body && (body.filename || body.title || "");
    return node("span", { class: "media" }, `[${name}${detail ? ` ${detail}` : ""}]`);
  }

  // A msgmenu as WeChat shows it: the head, one tappable line per click item, view/miniprogram items, the tail.
  function menu(body, msgid, clickable) {
    const items = Array.isArray(body.list) ? body.list : [];
    return node("div", { class: "menu" },
      body.head_content ? node("div", { class: "menu-head" }, body.head_content) : null,
      node("div", { class: "menu-items" }, items.map((item) => {
        if (item.type === "click" && item.click) {
          return node("button", { type: "button", class: "menu-item", "data-kf-click": item.click.id, "data-kf-msgid": msgid,
            disabled: !clickable, title: clickable ? "以客户身份点击（推送 text.menu_id）" : "" }, item.click.content || item.click.id);
        }
        if (item.type === "view" && item.view) return link(item.view.url, item.view.content);
        if (item.type === "miniprogram" && item.miniprogram) return node("span", { class: "menu-item static" }, `[小程序] ${item.miniprogram.content || ""}`);
        if (item.type === "text" && item.text) return node("span", { class: "menu-text" }, item.text.content || "");
        return null;
      })),
      body.tail_content ? node("div", { class: "menu-tail" }, body.tail_content) : null);
  }

  // One kf message body (a msg_list item or an API send payload, both keyed by msgtype).
  function kfBody(message, type, msgid, clickable) {
    const body = message[type] || {};
    if (type === "text") {
      const clicked = body.menu_id ? node("span", { class: "tag plain" }, `点击菜单 ${body.menu_id}`) : null;
      return [body.content || "", clicked];
    }
    if (type === "msgmenu") return menu(body, msgid, clickable);
    if (type === "link") {
      return node("div", { class: "card" }, node("strong", {}, link(body.url, body.title)), body.desc ? node("div", {}, body.desc) : null);
    }
    if (type === "event") {
      const name = KF_EVENTS[body.event_type] || body.event_type || "事件";
      return node("span", { class: "event" }, `【${name}】`);
    }
    if (type === "location") return `[位置] ${body.name || ""} ${body.address || ""}`;
    if (type === "miniprogram") return `[小程序] ${body.title || ""}`;
    if (type === "business_card") return `[名片] ${body.userid || ""}`;
    if (MEDIA[type]) return media(type, body);
    return `[${type}]`;
  }

  // WeCom's markdown subset for app messages: headings, **bold**, [text](url), `code`, > quotes, <font color>.
  function markdown(text) {
    const inline = /(\\[\\`*_[\]()#>!<~|-]|\*\*[^*]+\*\*|\[[^\]]+\]\([^)\s]+\)|`[^`]+`|<font color="?(\w+)"?>([\s\S]*?)<\/font>)/g;
    return node("div", { class: "markdown" }, String(text || "").split("\n").map((line) => {
      let tag = "div";
      let rest = line;
      const heading = /^(#{1,6})\s+/.exec(rest);
      if (heading) { tag = "strong"; rest = rest.slice(heading[0].length); }
      const quote = /^>\s?/.exec(rest);
      if (quote) rest = rest.slice(quote[0].length);
      const parts = [];
      let last = 0;
      for (const match of rest.matchAll(inline)) {
        parts.push(rest.slice(last, match.index));
        const token = match[0];
        if (token.startsWith("\\")) parts.push(token.slice(1)); // an escaped character stands for itself
        else if (token.startsWith("**")) parts.push(node("strong", {}, token.slice(2, -2)));
        else if (token.startsWith("[")) {
          const [, label, url] = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(token);
          parts.push(link(url, label));
        } else if (token.startsWith("`")) parts.push(node("code", {}, token.slice(1, -1)));
        else parts.push(node("span", { class: FONT_COLORS.has(match[2]) ? `font-${match[2]}` : "" }, match[3]));
        last = match.index + token.length;
      }
      parts.push(rest.slice(last));
      return node(quote ? "blockquote" : "div", { class: tag === "strong" ? "md-heading" : "" }, parts);
    }));
  }

  function templateCard(card) {
    const title = card.main_title || {};
    const rows = Array.isArray(card.horizontal_content_list) ? card.horizontal_content_list : [];
    const buttons = Array.isArray(card.button_list) ? card.button_list : [];
    const jumps = Array.isArray(card.jump_list) ? card.jump_list : [];
    return node("div", { class: "card" },
      card.source && card.source.desc ? node("div", { class: "card-source" }, card.source.desc) : null,
      title.title ? node("strong", {}, title.title) : null,
      title.desc ? node("div", { class: "card-desc" }, title.desc) : null,
      card.emphasis_content ? node("div", { class: "card-emphasis" }, card.emphasis_content.title || "", " ", card.emphasis_content.desc || "") : null,
      card.quote_area ? node("blockquote", {}, card.quote_area.title || "", " ", card.quote_area.quote_text || "") : null,
      card.sub_title_text ? node("div", {}, card.sub_title_text) : null,
      rows.length ? node("dl", {}, rows.map((row) => [node("dt", {}, row.keyname || ""), node("dd", {}, row.url ? link(row.url, row.value) : row.value || "")])) : null,
      jumps.map((jump) => node("div", {}, link(jump.url, jump.title))),
      buttons.length ? node("div", { class: "card-buttons" }, buttons.map((b) => node("button", { type: "button", disabled: true, title: "沙箱不模拟卡片按钮点击" }, b.text || b.key || ""))) : null);
  }

  // What a member sees of one message/send: `entry` is a delivery-log app_message record.
  function appBody(entry) {
    const body = entry.message || {};
    if (entry.msgtype === "text") return node("div", { class: "text" }, body.content || entry.content || "");
    if (entry.msgtype === "markdown") return markdown(body.content || entry.content);
    if (entry.msgtype === "textcard") {
      return node("div", { class: "card" }, node("strong", {}, body.title || ""), node("div", { class: "card-desc" }, body.description || ""),
        link(body.url, body.btntxt || "详情"));
    }
    if (entry.msgtype === "news" || entry.msgtype === "mpnews") {
      const articles = Array.isArray(body.articles) ? body.articles : [];
      return node("div", { class: "card" }, articles.map((a) => node("div", {}, link(a.url, a.title), a.description ? ` ${a.description}` : "")));
    }
    if (entry.msgtype === "template_card") return templateCard(body);
    if (MEDIA[entry.msgtype]) return media(entry.msgtype, body);
    return node("div", { class: "text" }, entry.content || `[${entry.msgtype}]`);
  }

  return { node, link, kfBody, appBody, markdown };
})();
