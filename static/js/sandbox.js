// Customer simulator: keep the thread scrolled to the newest bubble, and empty the message box
// once a message went out (forms marked data-reset-on-success).
(function () {
  document.body.addEventListener("htmx:afterSettle", () => {
    const thread = document.getElementById("sim-thread");
    if (thread) thread.scrollTop = thread.scrollHeight;
  });
  document.body.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail.elt;
    if (event.detail.successful && form.matches && form.matches("form[data-reset-on-success]")) {
      form.reset();
    }
  });
})();
