/* regdesk help button: adds a "Help" button that opens the desk's request form in a new tab,
   with the address of the page it was pressed on. */
(function () {
  "use strict";
  var config = {{ config_json|safe }};
  if (document.getElementById(config.id)) { return; }
  function open() {
    var url = config.formUrl + "?page=" + encodeURIComponent(document.location.href);
    var tab = window.open(url, "_blank");
    if (tab) { tab.opener = null; } else { document.location.href = url; }
  }
  function add() {
    // A page may place its own button: any element with data-regdesk-help opens the form.
    var own = document.querySelectorAll("[data-regdesk-help]");
    if (own.length) {
      for (var i = 0; i < own.length; i++) { own[i].addEventListener("click", open); }
      return;
    }
    var button = document.createElement("button");
    button.id = config.id;
    button.type = "button";
    button.textContent = config.label;
    button.title = config.title;
    button.setAttribute("aria-label", config.title);
    var s = button.style;
    s.position = "fixed"; s.right = "16px"; s.bottom = "16px"; s.zIndex = "2147483000";
    s.padding = "10px 18px"; s.border = "0"; s.borderRadius = "999px";
    s.background = "#1d4ed8"; s.color = "#fff"; s.font = "600 15px/1.2 system-ui, sans-serif";
    s.boxShadow = "0 2px 8px rgba(0,0,0,.25)"; s.cursor = "pointer";
    button.addEventListener("focus", function () { s.outline = "3px solid #f59e0b"; s.outlineOffset = "2px"; });
    button.addEventListener("blur", function () { s.outline = "none"; });
    button.addEventListener("click", open);
    document.body.appendChild(button);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", add);
  } else {
    add();
  }
})();
