// Trellis dev live reload: the dev server sends the current build's
// generation on connect and after every rebuild; a page served by another
// generation reloads. Only `trellis dev` serves and injects this script.
(() => {
  const gen = new URL(document.currentScript.src).searchParams.get("v");
  const events = new EventSource("/_trellis/dev/events");
  events.addEventListener("reload", (e) => {
    if (e.data !== gen) {
      events.close();
      location.reload();
    }
  });
})();
