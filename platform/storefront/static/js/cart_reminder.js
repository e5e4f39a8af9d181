// Checkout: the shopper's "remind me" box. When it or the address changes, the form's
// address, the box and its CSRF token go to /cart/reminder, so a cart left before the
// order is placed can get its one reminder (storefront.reminders). Without JavaScript,
// "Update the totals" sends the same.
(() => {
  const box = document.querySelector("[data-cart-reminder]");
  const form = box && box.closest("form");
  if (!form) return;
  const send = () => {
    const body = new FormData();
    for (const name of ["csrf_token", "email", "cart_reminder"]) {
      const field = form.elements.namedItem(name);
      if (!field) continue;
      if (field.type === "checkbox") {
        if (field.checked) body.append(name, field.value || "y");
      } else {
        body.append(name, field.value);
      }
    }
    fetch(box.dataset.url, { method: "POST", body, credentials: "same-origin" }).catch(() => {});
  };
  form.addEventListener("change", (event) => {
    const name = event.target.name;
    if (name === "cart_reminder" || (name === "email" && form.elements.namedItem("cart_reminder").checked)) send();
  });
})();
