/* regdesk agent workspace: live clock countdowns and keyboard shortcuts. No dependencies. */
(function () {
  "use strict";

  var HOUR = 3600 * 1000;

  // ------------------------------------------------------------------ countdowns

  // Unit letters come translated from the page: <div class="ws" data-units="d h m s">.
  function units() {
    var holder = document.querySelector("[data-units]");
    var given = holder ? holder.dataset.units.split(" ") : [];
    return given.length === 4 ? given : ["d", "h", "m", "s"];
  }

  function span(ms) {
    var u = units();
    var left = Math.abs(ms);
    var minutes = Math.floor(left / 60000);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    var text;
    if (days) text = days + u[0] + " " + hours + u[1];
    else if (hours) text = hours + u[1] + " " + mins + u[2];
    else if (mins) text = mins + u[2];
    else text = Math.floor(left / 1000) + u[3];
    return (ms < 0 ? "−" : "") + text;
  }

  function tone(el, name) {
    ["tone-ok", "tone-warning", "tone-breached"].forEach(function (cls) {
      el.classList.toggle(cls, cls === name);
    });
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("details.clock[data-due][data-state='running']").forEach(function (badge) {
      var left = Date.parse(badge.dataset.due) - now;
      var out = badge.querySelector("[data-countdown]");
      if (out) out.textContent = span(left);
      if (badge.hasAttribute("data-breached") || left < 0) tone(badge, "tone-breached");
      else tone(badge, left < HOUR ? "tone-warning" : "tone-ok");
    });
    document.querySelectorAll(".due[data-due]").forEach(function (el) {
      var left = Date.parse(el.dataset.due) - now;
      el.textContent = span(left);
      tone(el, left < 0 ? "tone-breached" : left < HOUR ? "tone-warning" : "tone-ok");
    });
  }

  // ------------------------------------------------------------------ keyboard

  function typing(event) {
    var el = event.target;
    if (!el || !el.closest) return false;
    return el.isContentEditable || !!el.closest("input, textarea, select, [contenteditable]");
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-queue-table] tbody tr[data-href]"));
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.findIndex(function (row) { return row.classList.contains("is-current"); });
    index = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    all.forEach(function (row, n) { row.classList.toggle("is-current", n === index); });
    all[index].scrollIntoView({ block: "nearest" });
  }

  function openCurrent() {
    var row = document.querySelector("[data-queue-table] tr.is-current");
    if (row) window.location.href = row.dataset.href;
  }

  function focusField(selector, opener) {
    var box = opener && document.querySelector(opener);
    if (box && box.tagName === "DETAILS") box.open = true;
    var field = document.querySelector(selector);
    if (field) { field.focus(); return true; }
    return false;
  }

  function help(show) {
    var box = document.getElementById("ws-help");
    if (!box) return;
    box.hidden = show === undefined ? !box.hidden : !show;
  }

  var pendingG = 0;

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      help(false);
      if (typing(event)) event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    var key = event.key;
    if (pendingG && Date.now() - pendingG < 1500) {
      pendingG = 0;
      var link = document.querySelector("[data-goto='" + key + "']");
      if (link) { event.preventDefault(); window.location.href = link.href; }
      return;
    }
    pendingG = 0;
    var handled = true;
    switch (key) {
      case "g": pendingG = Date.now(); break;
      case "j": move(1); break;
      case "k": move(-1); break;
      case "Enter":
        // Enter keeps its meaning on a focused link, button or disclosure.
        if (event.target.closest("a, button, summary")) { handled = false; break; }
        openCurrent(); handled = rows().length > 0; break;
      case "o": openCurrent(); handled = rows().length > 0; break;
      case "/": handled = focusField("[data-search]"); break;
      case "r": handled = focusField("#reply-body"); break;
      case "n": handled = focusField("#note-body", "[data-note]"); break;
      case "a": {
        var accept = document.querySelector("[data-key='accept']");
        if (accept) accept.click(); else handled = false;
        break;
      }
      case "?": help(); break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });

  // ------------------------------------------------------------------ clicks and inputs

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest("[data-help-open]")) { help(true); return; }
    if (target.closest("[data-help-close]") || target.id === "ws-help") { help(false); return; }
    if (target.closest("[data-split-add]")) {
      var form = target.closest("form");
      var parts = form.querySelectorAll("[data-split-part]");
      var copy = parts[parts.length - 1].cloneNode(true);
      copy.querySelectorAll("input, textarea").forEach(function (el) { el.value = ""; });
      parts[parts.length - 1].after(copy);
      return;
    }
    var row = target.closest("[data-queue-table] tr[data-href]");
    if (row && !target.closest("a")) window.location.href = row.dataset.href;
  });

  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-canned-for]");
    if (!select) return;
    var option = select.selectedOptions[0];
    var box = document.getElementById(select.dataset.cannedFor);
    if (option && option.dataset.body && box) {
      var start = box.selectionStart, end = box.selectionEnd;
      box.value = box.value.slice(0, start) + option.dataset.body + box.value.slice(end);
      box.focus();
      box.selectionStart = box.selectionEnd = start + option.dataset.body.length;
    }
    select.value = "";
  });

  // ------------------------------------------------------------------ drafts

  // An action re-renders the whole ticket panel: keep what the agent was typing in the reply
  // and note boxes, except in the box whose form was just sent (the server answers for it).
  var DRAFTS = ["reply-body", "note-body"];
  var kept = {};

  document.addEventListener("htmx:beforeSwap", function (event) {
    kept = {};
    if (!event.detail.target || event.detail.target.id !== "ticket") return;
    var sent = event.detail.requestConfig && event.detail.requestConfig.elt;
    DRAFTS.forEach(function (id) {
      var box = document.getElementById(id);
      if (box && box.value && !(sent && sent.contains && sent.contains(box))) kept[id] = box.value;
    });
  });

  document.addEventListener("htmx:afterSwap", function () {
    Object.keys(kept).forEach(function (id) {
      var box = document.getElementById(id);
      if (box && !box.value) {
        box.value = kept[id];
        var details = box.closest("details");
        if (details) details.open = true;
      }
    });
    kept = {};
    tick();
  });

  document.addEventListener("DOMContentLoaded", tick);
  window.setInterval(tick, 1000);
})();
