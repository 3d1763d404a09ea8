// Keyboard-first reconciliation (mirrors coding.js): digits set the final value of the
// focused dimension, j/k move, a/d/x choose the method, n edits the note, Ctrl+Enter saves.
(function () {
  "use strict";
  const form = document.getElementById("reconcile-form");
  if (!form) return;
  const dims = Array.from(form.querySelectorAll("fieldset.dimension")).filter(
    (d) => d.querySelector("input[type=radio]")
  );
  const METHOD_KEYS = { a: "agreed", d: "discussion", x: "adjudicated" };
  let current = 0;

  function focusDim(index) {
    if (!dims.length) return;
    current = Math.max(0, Math.min(dims.length - 1, index));
    dims.forEach((d, i) => d.classList.toggle("focused", i === current));
    dims[current].scrollIntoView({ block: "nearest" });
    dims[current].focus({ preventScroll: true });
  }

  function startIndex() {
    const hash = window.location.hash.slice(1);
    const byHash = hash ? dims.findIndex((d) => d.id === hash) : -1;
    if (byHash !== -1) return byHash;
    const open = dims.findIndex((d) => d.dataset.open === "1");
    return open === -1 ? 0 : open;
  }

  // Settled dimensions keep their controls folded away; any edit key unfolds them.
  function unfold(dim) {
    const details = dim.querySelector("details");
    if (details && !details.open) details.open = true;
  }

  function isTyping(el) {
    return el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
      (el.tagName === "INPUT" && el.type === "text"));
  }

  dims.forEach((d, i) => {
    d.addEventListener("focusin", () => {
      current = i;
      dims.forEach((x, j) => x.classList.toggle("focused", j === i));
    });
    d.addEventListener("change", () =>
      d.classList.toggle("scored", !!d.querySelector("input[type=radio]:checked")));
  });

  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      const button = document.getElementById("save-btn");
      if (button) { event.preventDefault(); form.requestSubmit(button); }
      return;
    }
    if (isTyping(document.activeElement)) {
      if (event.key === "Escape") { document.activeElement.blur(); focusDim(current); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const dim = dims[current];
    if (!dim) return;
    if (/^[0-9]$/.test(event.key)) {
      const radio = dim.querySelector(`input[type=radio][value="${event.key}"]`);
      if (radio && !radio.disabled) {
        event.preventDefault();
        unfold(dim);
        radio.checked = true;
        radio.dispatchEvent(new Event("change", { bubbles: true }));
      }
    } else if (METHOD_KEYS[event.key]) {
      const select = dim.querySelector("select");
      if (select) {
        event.preventDefault();
        unfold(dim);
        select.value = METHOD_KEYS[event.key];
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    } else if (event.key === "j" || event.key === "ArrowDown") {
      event.preventDefault(); focusDim(current + 1);
    } else if (event.key === "k" || event.key === "ArrowUp") {
      event.preventDefault(); focusDim(current - 1);
    } else if (event.key === "n") {
      const area = dim.querySelector("textarea");
      if (area) { event.preventDefault(); unfold(dim); area.focus(); }
    }
  });

  focusDim(startIndex());
})();
