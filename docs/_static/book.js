/* The book's fixes to its theme's behaviour and markup, loaded (deferred) on every page.
   Each fix says what was wrong; tests/test_browser.py checks the result on every page. */
(function () {
  "use strict";

  /* The sidebar toggles. pydata-sphinx-theme renders a ☰ and a contents button in its top
     bar, and sphinx-book-theme renders its own pair in the article header and hides the
     top bar's. Both themes bind only the first element of each class (`.primary-toggle`,
     `.secondary-toggle`), the hidden pair, so the visible ☰ opened nothing on a phone and
     did not collapse the sidebar on a wide screen (pydata-sphinx-theme issue 2451). A
     click on a visible toggle is handed to the bound one, which then does what the themes
     meant: the chapter list (or the page's contents) as a dialog on a narrow screen, the
     sidebar collapsed or restored on a wide one. */
  function forwardSidebarToggles() {
    ["primary", "secondary"].forEach(function (side) {
      var toggles = document.querySelectorAll("." + side + "-toggle");
      var bound = toggles[0];
      Array.prototype.slice.call(toggles, 1).forEach(function (button) {
        button.addEventListener("click", function (event) {
          event.preventDefault();
          bound.click();
        });
      });
    });
  }

  /* Names for controls that had none, or a name that hid their visible text (axe-core:
     summary-name, label-content-name-mismatch). The ▾ that opens a chapter in the
     chapter list is a <summary> with only an icon: it is named after its chapter. The
     search field's button is labelled "Search" while it shows "Search Ctrl+K": its
     visible text becomes its name. */
  function nameControls() {
    document.querySelectorAll(".bd-docs-nav details > summary").forEach(function (summary) {
      var chapter = summary.parentElement.previousElementSibling;
      if (!summary.hasAttribute("aria-label") && chapter) {
        summary.setAttribute("aria-label", "Pages of " + chapter.textContent.trim());
      }
    });
    document.querySelectorAll(".search-button-field[aria-label]").forEach(function (button) {
      button.removeAttribute("aria-label");
    });
  }

  function run() {
    forwardSidebarToggles();
    nameControls();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
