// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // <form data-confirm="Really?">: ask before a destructive action.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  }, true);

  // <button data-copy="#selector">: copy a secret shown once.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = button.getAttribute("data-copied") || "Copied";
      });
    }
  });

  // Close an open <details> menu when clicking elsewhere or pressing Escape.
  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (menu !== except) { menu.removeAttribute("open"); }
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest("details[data-menu]"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeMenus(null); }
  });

  // <a data-carry-query href="…/export.csv">: when htmx pushes a filtered URL into the address
  // bar (hx-push-url), the link takes the same query, so an export matches what is on screen.
  // The page number is not carried: an export is the whole filtered list.
  document.addEventListener("htmx:pushedIntoHistory", function (event) {
    var query = new URL(event.detail.path, window.location.href).searchParams;
    query.delete("page");
    document.querySelectorAll("a[data-carry-query]").forEach(function (link) {
      var url = new URL(link.href);
      url.search = query.toString();
      link.href = url.toString();
    });
  });

  // Selects marked data-autosubmit submit their form (the role picker on the team page).
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) {
      event.target.form.requestSubmit();
    }
  });
})();
