// Keyboard-first coding: digits score the focused dimension, j/k move, Ctrl+Enter submits.
(function () {
  "use strict";
  const form = document.getElementById("coding-form");
  if (!form) return;
  const dims = Array.from(form.querySelectorAll("fieldset.dimension"));
  let current = 0;

  // A refused submit re-renders this page as the answer to POST .../submit/: show the
  // item's own address, so a reload or a bookmark opens the item instead of re-posting.
  const itemUrl = form.dataset.itemUrl;
  if (itemUrl && window.location.pathname !== itemUrl) {
    window.history.replaceState(null, "", itemUrl + window.location.hash);
  }

  function focusDim(index) {
    if (!dims.length) return;
    current = Math.max(0, Math.min(dims.length - 1, index));
    dims.forEach((d, i) => d.classList.toggle("focused", i === current));
    dims[current].scrollIntoView({ block: "nearest" });
    dims[current].focus({ preventScroll: true });
  }

  function firstUnscored() {
    const i = dims.findIndex((d) => !d.querySelector("input[type=radio]:checked"));
    return i === -1 ? 0 : i;
  }

  function isTyping(el) {
    return el && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type === "text"));
  }

  dims.forEach((d, i) => {
    d.addEventListener("focusin", () => { current = i; dims.forEach((x, j) => x.classList.toggle("focused", j === i)); });
    d.addEventListener("change", () => d.classList.toggle("scored", !!d.querySelector("input[type=radio]:checked")));
  });

  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      const button = document.getElementById("submit-btn");
      if (button) { event.preventDefault(); form.requestSubmit(button); }
      return;
    }
    if (isTyping(document.activeElement)) {
      if (event.key === "Escape") { document.activeElement.blur(); focusDim(current); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const dim = dims[current];
    if (/^[0-9]$/.test(event.key) && dim) {
      const radio = dim.querySelector(`input[type=radio][value="${event.key}"]`);
      if (radio && !radio.disabled) {
        event.preventDefault();
        radio.checked = true;
        radio.dispatchEvent(new Event("change", { bubbles: true }));
        focusDim(current + 1 < dims.length ? current + 1 : current);
      }
    } else if (event.key === "j" || event.key === "ArrowDown") {
      event.preventDefault(); focusDim(current + 1);
    } else if (event.key === "k" || event.key === "ArrowUp") {
      event.preventDefault(); focusDim(current - 1);
    } else if (event.key === "r" && dim) {
      const area = dim.querySelector("textarea");
      if (area && !area.readOnly) { event.preventDefault(); area.focus(); }
    }
  });

  // Show conflicts and validation errors from autosave instead of dropping them.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const status = event.detail.xhr.status;
    if (status === 409 || status === 400 || status === 503) { event.detail.shouldSwap = true; event.detail.isError = false; }
  });
  document.body.addEventListener("htmx:sendError", () => {
    const state = document.getElementById("save-state");
    if (state) { state.textContent = "Not saved: connection problem. Your answers are still on this page."; state.classList.add("error"); }
  });

  // Submitting while an autosave is in flight would race its version bump: wait for it.
  let submitWhenIdle = null;
  form.addEventListener("submit", (event) => {
    if (form.classList.contains("htmx-request")) {
      event.preventDefault();
      submitWhenIdle = event.submitter || document.getElementById("submit-btn");
    }
  });
  document.body.addEventListener("htmx:afterSettle", () => {
    if (submitWhenIdle && !form.classList.contains("htmx-request")) {
      const button = submitWhenIdle;
      submitWhenIdle = null;
      form.requestSubmit(button);
    }
  });

  focusDim(firstUnscored());
})();
