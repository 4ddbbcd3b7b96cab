// Auto-refresh without losing the reader's place: fetch the page again, swap the live part in, keep the
// scroll position. When the daemon stops answering, the last known state stays up, marked as such.
// Without JavaScript a <noscript> meta refresh does the same job, less gently.
"use strict";
(() => {
  const seconds = Number(document.body.dataset.refresh) || 10;
  const pause = document.getElementById("pause");
  const offline = document.getElementById("offline");
  let timer = null;
  let paused = false;

  function schedule() {
    clearTimeout(timer);
    if (!paused) timer = setTimeout(refresh, seconds * 1000);
  }

  function swap(fresh, id) {
    const mine = document.getElementById(id);
    const theirs = fresh.getElementById(id);
    if (mine && theirs) mine.replaceWith(document.importNode(theirs, true));
  }

  async function refresh() {
    try {
      const response = await fetch(location.href, { cache: "no-store", headers: { Accept: "text/html" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      swap(fresh, "live");
      swap(fresh, "updated");
      const badge = document.querySelector(".brand .tag");
      const freshBadge = fresh.querySelector(".brand .tag");
      if (badge && freshBadge) badge.replaceWith(document.importNode(freshBadge, true));
      const icon = fresh.querySelector("link[rel=icon]");
      if (icon) document.querySelector("link[rel=icon]").href = icon.href;
      document.title = fresh.title;
      offline.hidden = true;
      document.body.classList.remove("offline");
    } catch (error) {
      offline.hidden = false;
      offline.title = String(error);
      document.body.classList.add("offline");
    }
    schedule();
  }

  pause.hidden = false;
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume auto-refresh" : "Pause auto-refresh";
    if (paused) clearTimeout(timer); else refresh();
  });
  schedule();
})();
