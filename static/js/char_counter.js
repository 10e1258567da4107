// A character count under a textarea: <textarea data-counter="count-id" maxlength="…">. The
// server renders the first count; this keeps it current while the admin types.
document.querySelectorAll("textarea[data-counter]").forEach((area) => {
  const count = document.getElementById(area.dataset.counter);
  if (!count) return;
  const limit = area.maxLength > 0 ? ` / ${area.maxLength}` : "";
  const show = () => {
    count.textContent = `${area.value.length}${limit} characters`;
  };
  area.addEventListener("input", show);
  show();
});
