// Keyboard-first pairwise judging: a/← A, b/→ B, t/= tie; j/k move; Ctrl+Enter submits.
(function () {
  "use strict";
  const form = document.getElementById("pair-form");
  if (!form) return;
  const rows = Array.from(form.querySelectorAll("tr.pair-dim"));
  let current = 0;

  const pairUrl = form.dataset.pairUrl;
  if (pairUrl && window.location.pathname !== pairUrl) {
    window.history.replaceState(null, "", pairUrl + window.location.hash);
  }

  function focusRow(index) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach((r, i) => r.classList.toggle("focused", i === current));
    rows[current].scrollIntoView({ block: "nearest" });
    rows[current].focus({ preventScroll: true });
  }

  function firstUnchosen() {
    const i = rows.findIndex((r) => !r.querySelector("input[type=radio]:checked"));
    return i === -1 ? 0 : i;
  }

  rows.forEach((r, i) => {
    r.addEventListener("focusin", () => { current = i; rows.forEach((x, j) => x.classList.toggle("focused", j === i)); });
    r.addEventListener("click", () => { current = i; rows.forEach((x, j) => x.classList.toggle("focused", j === i)); });
    r.addEventListener("change", () => r.classList.toggle("scored", !!r.querySelector("input[type=radio]:checked")));
  });

  const KEYS = { a: "A", A: "A", ArrowLeft: "A", b: "B", B: "B", ArrowRight: "B", t: "tie", T: "tie", "=": "tie" };

  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      const button = document.getElementById("submit-btn");
      if (button) { event.preventDefault(); form.requestSubmit(button); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const row = rows[current];
    const choice = KEYS[event.key];
    if (choice && row) {
      const radio = row.querySelector(`input[type=radio][value="${choice}"]`);
      if (radio && !radio.disabled) {
        event.preventDefault();
        radio.checked = true;
        radio.dispatchEvent(new Event("change", { bubbles: true }));
        focusRow(current + 1 < rows.length ? current + 1 : current);
      }
    } else if (event.key === "j" || event.key === "ArrowDown") {
      event.preventDefault(); focusRow(current + 1);
    } else if (event.key === "k" || event.key === "ArrowUp") {
      event.preventDefault(); focusRow(current - 1);
    }
  });

  focusRow(firstUnchosen());
})();
