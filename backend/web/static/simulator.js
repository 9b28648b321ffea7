// The simulator's phone (/app/simulator): sends what is typed or tapped, polls the assistant's
// replies and the M-Pesa prompts, and shows each turn's debug view. No framework, no CDN.
(function () {
  "use strict";
  var root = document.getElementById("simulator");
  if (!root) { return; }
  var handle = root.dataset.handle, csrf = root.dataset.csrf, base = root.dataset.base;
  var after = parseInt(root.dataset.after, 10) || 0;
  var chat = document.getElementById("chat"), statusLine = document.getElementById("status");
  var prompts = document.getElementById("prompts"), turns = document.getElementById("turns");
  var busy = false, debugDue = true, shownPrompts = "", recorded = true;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function say(text) { statusLine.textContent = text || ""; }
  function scrollDown() { chat.scrollTop = chat.scrollHeight; }

  function call(method, path, body) {
    var options = {method: method, credentials: "same-origin",
                   headers: {"Accept": "application/json"}};
    if (body) {
      body.s = handle;
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRF-Token"] = csrf;
      options.body = JSON.stringify(body);
    }
    return fetch(base + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.description || data.message || response.status); }
        return data;
      });
    });
  }
  function query(path, extra) {
    var params = new URLSearchParams(Object.assign({s: handle}, extra || {}));
    return call("GET", path + "?" + params.toString());
  }

  function mine(text) {
    var item = el("li", "bubble mine");
    item.appendChild(el("p", "text", text));
    chat.appendChild(item);
    scrollDown();
  }

  function theirs(message) {
    var item = el("li", "bubble theirs");
    item.dataset.id = message.id;
    if (message.media_url) {
      var image = el("img", "media");
      image.src = message.media_url;
      image.alt = "";
      image.loading = "lazy";
      item.appendChild(image);
    }
    var shown = message.interactive;
    var body = shown ? shown.body : message.body;
    if (body) { item.appendChild(el("p", "text", body)); }
    if (shown && shown.type === "twilio/quick-reply") {
      var row = el("div", "quick-replies");
      (shown.actions || []).forEach(function (action, index) {
        var button = el("button", "secondary reply-button", action.title);
        button.type = "button";
        button.addEventListener("click", function () { tap(message.id, index + 1, action.title); });
        row.appendChild(button);
      });
      item.appendChild(row);
    } else if (shown && shown.type === "twilio/list-picker") {
      var open = el("button", "secondary list-button", shown.button || "Menu");
      open.type = "button";
      var list = el("ul", "list-rows");
      list.hidden = true;
      (shown.items || []).forEach(function (row, index) {
        var line = el("li");
        var choose = el("button", "link list-row", row.item);
        choose.type = "button";
        choose.addEventListener("click", function () { tap(message.id, index + 1, row.item); });
        line.appendChild(choose);
        if (row.description) { line.appendChild(el("span", "muted", row.description)); }
        list.appendChild(line);
      });
      open.addEventListener("click", function () { list.hidden = !list.hidden; });
      item.appendChild(open);
      item.appendChild(list);
    }
    chat.appendChild(item);
    scrollDown();
  }

  function send(body, echo) {
    if (busy) { return; }
    busy = true;
    mine(echo);
    say("…");
    call("POST", "/send", body).then(function () { say(""); debugDue = true; })
      .catch(function (error) { say(error.message); })
      .then(function () { busy = false; });
  }
  function tap(id, choice, title) { send({message_id: id, choice: choice}, title); }

  function renderPrompts(list) {
    var key = JSON.stringify(list);
    if (key === shownPrompts) { return; }
    shownPrompts = key;
    prompts.textContent = "";
    list.forEach(function (prompt) {
      var card = el("div", "mpesa-prompt");
      card.setAttribute("role", "dialog");
      card.appendChild(el("strong", null, "M-PESA"));
      card.appendChild(el("p", null, root.dataset.pay
        .replace("{amount}", "KES " + prompt.amount).replace("{account}", prompt.account || "")));
      var buttons = document.getElementById("mpesa-labels").content.cloneNode(true);
      buttons.querySelectorAll("button").forEach(function (button) {
        button.addEventListener("click", function () {
          call("POST", "/mpesa", {checkout: prompt.checkout, answer: button.dataset.answer})
            .then(function () { card.remove(); shownPrompts = ""; debugDue = true; })
            .catch(function (error) { say(error.message); });
        });
      });
      card.appendChild(buttons);
      prompts.appendChild(card);
    });
  }

  function poll() {
    query("/messages", {after: after}).then(function (data) {
      data.messages.forEach(function (message) { theirs(message); after = message.id; });
      if (data.messages.length) { debugDue = true; }
      renderPrompts(data.prompts || []);
    }).catch(function (error) { say(error.message); })
      .then(function () {
        if (debugDue) { debugDue = false; return refreshDebug(); }
      }).then(function () { window.setTimeout(poll, 1000); });
  }

  function percent(value) {
    return value === null || value === undefined ? "–" : (value * 100).toFixed(1) + " %";
  }
  function table(headings, rows) {
    var grid = el("table", "debug-table");
    var head = el("tr");
    headings.forEach(function (h) { head.appendChild(el("th", null, h)); });
    grid.appendChild(head);
    rows.forEach(function (row) {
      var line = el("tr");
      row.forEach(function (cell) { line.appendChild(el("td", null, cell)); });
      grid.appendChild(line);
    });
    return grid;
  }
  function field(list, label, value) {
    list.appendChild(el("dt", null, label));
    list.appendChild(el("dd", null, value === null || value === undefined || value === "" ? "–" : value));
  }

  function renderTurn(turn) {
    var item = el("li", "card turn");
    item.appendChild(el("h3", null, "#" + turn.number + " " + (turn.text || "")));
    var facts = el("dl", "facts");
    field(facts, "language", turn.language);
    field(facts, "intent", turn.intent ? turn.intent + " (" + percent(turn.confidence) + ")" : null);
    field(facts, "form", turn.active_form ? turn.active_form + " → " + (turn.requested_slot || "–") : null);
    field(facts, "turn", turn.duration_ms === null ? null : turn.duration_ms + " ms");
    item.appendChild(facts);
    if (turn.ranking.length) {
      item.appendChild(el("h4", null, "ranking"));
      item.appendChild(table(["intent", "confidence"], turn.ranking.map(function (r) {
        return [r.name, percent(r.confidence)]; })));
    }
    if (turn.entities.length) {
      item.appendChild(el("h4", null, "entities"));
      item.appendChild(table(["entity", "value", "extractor", "confidence"], turn.entities.map(
        function (e) { return [e.entity + (e.role ? ":" + e.role : ""), JSON.stringify(e.value),
                              e.extractor || "–", percent(e.confidence)]; })));
    }
    var blendKeys = Object.keys(turn.blend || {});
    if (blendKeys.length) {
      item.appendChild(el("h4", null, "blend"));
      item.appendChild(el("pre", "blend", JSON.stringify(turn.blend, null, 1)));
    }
    var slotNames = Object.keys(turn.slots_changed);
    if (slotNames.length) {
      item.appendChild(el("h4", null, "slots"));
      item.appendChild(table(["slot", "value"], slotNames.map(function (name) {
        return [name, JSON.stringify(turn.slots_changed[name])]; })));
    }
    if (turn.actions.length) {
      item.appendChild(el("h4", null, "actions"));
      item.appendChild(table(["action", "policy", "confidence", "ms"], turn.actions.map(
        function (a) {
          var name = a.name + a.responses.map(function (r) {
            return "\n  → " + (r.template || "") + " " + (r.text || "").replace(/\s+/g, " ").slice(0, 60); }).join("");
          return [name, a.policy || "–", percent(a.confidence),
                  a.duration_ms === null ? "–" : String(a.duration_ms)];
        })));
    }
    renderCalls(item, turn.backend_calls || [], recorded);
    return item;
  }

  // The calls the assistant made to the backend for this turn (kept under its request id).
  function renderCalls(item, calls, recorded) {
    var labels = root.dataset;
    item.appendChild(el("h4", null, labels.calls));
    if (!recorded) { item.appendChild(el("p", "muted calls-off", labels.callsOff)); return; }
    if (!calls.length) { item.appendChild(el("p", "muted calls-none", labels.callsNone)); return; }
    var grid = table([labels.callMethod, labels.callPath, labels.callStatus, "ms"], calls.map(
      function (c) { return [c.method, c.path, String(c.status), String(c.ms)]; }));
    grid.classList.add("backend-calls");
    item.appendChild(grid);
  }

  function refreshDebug() {
    return query("/debug").then(function (data) {
      turns.textContent = "";
      recorded = data.backend_calls_recorded !== false;
      data.turns.slice().reverse().forEach(function (turn) { turns.appendChild(renderTurn(turn)); });
    }).catch(function (error) { say(error.message); });
  }

  document.getElementById("composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("text");
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    send({text: text}, text);
  });
  document.getElementById("restart").addEventListener("click", function () {
    call("POST", "/restart", {}).then(function () {
      chat.appendChild(el("li", "divider", "— /restart —")); debugDue = true;
    }).catch(function (error) { say(error.message); });
  });
  document.getElementById("rewind").addEventListener("click", function () {
    call("POST", "/rewind", {}).then(function () {
      var mineLast = chat.querySelectorAll(".bubble.mine");
      if (mineLast.length) {
        var last = mineLast[mineLast.length - 1];
        while (last) { var next = last.nextElementSibling; last.classList.add("rewound"); last = next; }
      }
      debugDue = true;
    }).catch(function (error) { say(error.message); });
  });
  document.getElementById("story-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var name = document.getElementById("story-name").value.trim();
    call("POST", "/story", {name: name}).then(function (data) {
      var result = document.getElementById("story-result");
      result.textContent = data.written_to ? data.file_name + " → " + data.written_to : data.file_name;
      var text = document.getElementById("story-text");
      text.textContent = data.story;
      text.hidden = false;
      var link = document.getElementById("story-download");
      link.href = base + "/story.yml?" + new URLSearchParams({s: handle, name: name}).toString();
      link.setAttribute("download", data.file_name);
      link.hidden = false;
    }).catch(function (error) { say(error.message); });
  });
  poll();
}());
