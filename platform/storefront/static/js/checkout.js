// Checkout: the summary follows the form. When the country, the discount code or the gift
// card changes,
// the form as it stands is sent to /checkout/summary and its answer replaces the summary;
// the form then carries the new total (expected_total), so the order placed is the one
// shown. Without JavaScript, "Update the totals" posts the whole form and the page
// shows the same figures; the server refuses an order whose total is not the one shown.
(() => {
  const form = document.querySelector("form[data-checkout]");
  const summary = document.getElementById("checkout-summary");
  if (!form || !summary) return;
  const expected = form.querySelector("input[name=expected_total]");
  let latest = 0;

  const refresh = async () => {
    const asked = ++latest;
    const body = new FormData(form);
    summary.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.dataset.summaryUrl, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (!response.ok || asked !== latest) return; // an answer overtaken by a newer one
      const html = await response.text();
      const fresh = new DOMParser().parseFromString(html, "text/html").body;
      summary.replaceChildren(...fresh.childNodes);
      const total = summary.querySelector("[data-total]");
      if (total && expected) expected.value = total.dataset.total;
    } catch (error) {
      // Offline or refused: the summary stays; "Update the totals" still works.
    } finally {
      if (asked === latest) summary.removeAttribute("aria-busy");
    }
  };

  let timer = 0;
  const soon = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  };
  form.addEventListener("change", (event) => {
    const name = event.target.name;
    if (name === "country" || name === "discount_code" || name === "gift_card_code") refresh();
  });
  form.addEventListener("input", (event) => {
    if (event.target.name === "discount_code") soon();
  });
})();
