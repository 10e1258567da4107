// Copy buttons: <button data-copy="#input-id">. Falls back to selecting the text.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const input = document.querySelector(button.dataset.copy);
  const status = document.querySelector("[data-copy-status]");
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch {
    input.select();
    copied = document.execCommand && document.execCommand("copy");
  }
  const label = button.textContent;
  button.textContent = copied ? "Copied ✓" : "Press Ctrl+C";
  button.classList.toggle("copied", copied);
  if (status) status.textContent = copied ? "Copied to the clipboard." : "Selected: press Ctrl+C to copy.";
  setTimeout(() => { button.textContent = label; button.classList.remove("copied"); }, 2000);
});

// Live panels (data-poll) poll with hx-trigger="every …"; a hidden tab skips its polls. Done
// here rather than with a trigger filter, which htmx evaluates as code (the Content-Security-
// Policy forbids eval, and htmx-config turns allowEval off).
document.addEventListener("htmx:confirm", (event) => {
  if (document.visibilityState !== "visible" && event.detail.elt.hasAttribute("data-poll")) {
    event.preventDefault();
  }
});
