// Keyboard-first reconciliation (mirrors coding.js): digits set the final value of the
// focused dimension and move on to the next open one, j/k move, a/d/x choose the method,
// n edits the note (cursor at its end), Ctrl+Enter saves.
// Safety: on a dimension every coder agreed on, an edit key only asks; the same key again
// confirms. One stray keypress can no longer turn an agreed 0 into a 1.
(function () {
  "use strict";
  const form = document.getElementById("reconcile-form");
  if (!form) return;
  const dims = Array.from(form.querySelectorAll("fieldset.dimension")).filter(
    (d) => d.querySelector("input[type=radio]")
  );
  const METHOD_KEYS = { a: "agreed", d: "discussion", x: "adjudicated" };
  const METHOD_NAMES = { agreed: "agreed", discussion: "discussion", adjudicated: "adjudicated" };
  let current = 0;
  let pending = null; // {dim, key}: an edit of an agreed dimension waiting for its second press

  function focusDim(index) {
    if (!dims.length) return;
    current = Math.max(0, Math.min(dims.length - 1, index));
    dims.forEach((d, i) => d.classList.toggle("focused", i === current));
    dims[current].scrollIntoView({ block: "nearest" });
    dims[current].focus({ preventScroll: true });
  }

  function isOpen(dim) {
    return dim.dataset.open === "1" && !dim.querySelector("input[type=radio]:checked");
  }

  // The next dimension still waiting for a value: later ones first, then earlier ones.
  function nextOpen(from) {
    for (let i = from + 1; i < dims.length; i++) if (isOpen(dims[i])) return i;
    for (let i = 0; i < from; i++) if (isOpen(dims[i])) return i;
    return -1;
  }

  function startIndex() {
    const hash = window.location.hash.slice(1);
    const byHash = hash ? dims.findIndex((d) => d.id === hash) : -1;
    if (byHash !== -1) return byHash;
    const open = dims.findIndex((d) => d.dataset.open === "1");
    return open === -1 ? 0 : open;
  }

  // Settled dimensions keep their controls folded away; a confirmed edit unfolds them.
  function unfold(dim) {
    const details = dim.querySelector("details");
    if (details && !details.open) details.open = true;
  }

  function say(dim, text) {
    const box = dim.querySelector(".override-prompt");
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
  }

  function clearPending() {
    if (pending) say(pending.dim, "");
    pending = null;
  }

  // True when the key may go ahead now; otherwise it asks and waits for the same key again.
  function confirmed(dim, key, what) {
    if (dim.dataset.agreed !== "1") return true;
    if (pending && pending.dim === dim && pending.key === key) {
      pending = null;
      return true;
    }
    clearPending();
    pending = { dim, key };
    say(
      dim,
      `All coders agreed on ${dim.dataset.agreedValue}. Press ${key} again to ${what}, ` +
        "or Esc to keep the agreed decision."
    );
    return false;
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

  function setValue(dim, radio, key) {
    const agreed = dim.dataset.agreed === "1";
    if (agreed && radio.value === dim.dataset.agreedValue) return; // nothing to change
    if (!confirmed(dim, key, `change it to ${radio.value}`)) return;
    unfold(dim);
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    if (agreed) {
      // Overruling every coder is an adjudication, and an adjudication needs its reason.
      const select = dim.querySelector("select");
      if (select && select.value === "agreed") select.value = "adjudicated";
      say(dim, `Changed to ${radio.value} (adjudicated): press n and say why; the note is required.`);
      return;
    }
    const next = nextOpen(current);
    if (next !== -1) focusDim(next);
  }

  function setMethod(dim, method, key) {
    const select = dim.querySelector("select");
    if (!select || select.value === method) return;
    if (!confirmed(dim, key, `mark it ${METHOD_NAMES[method]}`)) return;
    unfold(dim);
    select.value = method;
    select.dispatchEvent(new Event("change", { bubbles: true }));
    if (dim.dataset.agreed === "1") say(dim, "");
  }

  function editNote(dim) {
    const area = dim.querySelector("textarea");
    if (!area) return;
    unfold(dim);
    area.focus();
    // Append to an existing note instead of typing in front of it.
    const end = area.value.length;
    area.setSelectionRange(end, end);
  }

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
    // Any key other than the one being confirmed drops the question.
    if (pending && !(pending.dim === dim && pending.key === event.key)) {
      clearPending();
      if (event.key === "Escape") { event.preventDefault(); return; }
    }
    if (/^[0-9]$/.test(event.key)) {
      const radio = dim.querySelector(`input[type=radio][value="${event.key}"]`);
      if (radio && !radio.disabled) {
        event.preventDefault();
        setValue(dim, radio, event.key);
      }
    } else if (METHOD_KEYS[event.key]) {
      event.preventDefault();
      setMethod(dim, METHOD_KEYS[event.key], event.key);
    } else if (event.key === "j" || event.key === "ArrowDown") {
      event.preventDefault(); focusDim(current + 1);
    } else if (event.key === "k" || event.key === "ArrowUp") {
      event.preventDefault(); focusDim(current - 1);
    } else if (event.key === "n") {
      event.preventDefault(); editNote(dim);
    }
  });

  focusDim(startIndex());
})();
