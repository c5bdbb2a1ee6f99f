/* The charting screen's keyboard rules. No build step: plain JavaScript, served as is.
 *
 * Enter in a charting entry form behaves the same everywhere (docs/frontend.md):
 * - in a date or time input it never submits (Enter there is often meant to
 *   confirm the time just typed);
 * - in any other single-line field (a number, a text, a radio button, a
 *   checkbox) it submits only when every required field of the form has a
 *   value; otherwise nothing is sent and the cursor moves to the first empty
 *   required field;
 * - in a text area it starts a new line; on a button it presses the button.
 * Escape inside a correction form cancels the correction (its Cancel link).
 *
 * The rules hang on the document, so they keep working on every chart the
 * server swaps in. Without JavaScript the browser's own Enter applies and the
 * server's validation answers.
 */
(function () {
  "use strict";

  var DATE_TYPES = ["date", "datetime-local", "time", "month", "week"];
  var NOT_SUBMITTING = ["button", "submit", "reset", "file", "image", "hidden"];

  function isEmpty(field, form) {
    if (field.type === "radio") {
      return !form.querySelector('input[type="radio"][name="' + field.name + '"]:checked');
    }
    if (field.type === "checkbox") return !field.checked;
    return !String(field.value || "").trim();
  }

  function firstEmptyRequired(form) {
    var fields = form.elements;
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.required && !field.disabled && isEmpty(field, form)) return field;
    }
    return null;
  }

  function inChart(form) {
    return form && form.closest && form.closest("#session-chart");
  }

  document.addEventListener("keydown", function (event) {
    var field = event.target;
    var form = field && field.form;
    if (!inChart(form) || event.isComposing) return;

    if (event.key === "Escape") {
      var cancel = form.querySelector("[data-cancel-edit]");
      if (cancel) {
        event.preventDefault();
        // The browser may focus the form (autofocus) before htmx has wired it up.
        if (window.htmx) window.htmx.process(cancel);
        cancel.click();
      }
      return;
    }
    if (event.key !== "Enter" || event.altKey || event.ctrlKey || event.metaKey) return;
    if (field.tagName !== "INPUT" || NOT_SUBMITTING.indexOf(field.type) !== -1) return;

    if (DATE_TYPES.indexOf(field.type) !== -1) {
      event.preventDefault();
      return;
    }
    var missing = firstEmptyRequired(form);
    if (missing) {
      event.preventDefault();
      missing.focus();
    }
  });
})();
