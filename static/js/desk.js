// Progressive enhancements only: every form works without JavaScript.
// No inline handlers anywhere; behaviours hang off data- attributes.
document.addEventListener("DOMContentLoaded", () => {
  // <input type="checkbox" data-select-all="name">: ticks every box named `name`.
  document.querySelectorAll("[data-select-all]").forEach((master) => {
    master.addEventListener("change", () => {
      const name = master.getAttribute("data-select-all");
      document.querySelectorAll(`input[type=checkbox][name="${name}"]`).forEach((box) => {
        box.checked = master.checked;
      });
    });
  });
  // <button data-confirm="question">: ask before submitting.
  document.querySelectorAll("[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
});
