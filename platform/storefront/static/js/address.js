// Addresses: the form's lines follow the country. When the country changes, the form as it
// stands is sent to the server, which answers the new country's lines (their names in the
// shopper's language, the states to choose from, what is required) with what was typed
// kept; they replace the old ones. The server draws them, so the page with and without a
// script is the same form: without one, the form's "update" button shows the new lines.
// (Checkout's totals follow the country too: js/checkout.js, on the same change.)
(() => {
  for (const form of document.querySelectorAll("form[data-address-fields-url]")) {
    let latest = 0;
    const swap = async () => {
      const asked = ++latest;
      const block = form.querySelector("[data-address-fields]");
      if (!block) return;
      block.setAttribute("aria-busy", "true");
      try {
        const response = await fetch(form.dataset.addressFieldsUrl, {
          method: "POST",
          body: new FormData(form),
          credentials: "same-origin",
          headers: { Accept: "text/html" },
        });
        if (!response.ok || asked !== latest) return; // overtaken by a newer change
        const html = await response.text();
        const fresh = new DOMParser()
          .parseFromString(html, "text/html")
          .querySelector("[data-address-fields]");
        if (fresh) block.replaceWith(document.importNode(fresh, true));
      } catch (error) {
        // Offline or refused: the lines stay; the server checks them for the country.
      } finally {
        block.removeAttribute("aria-busy");
      }
    };
    form.addEventListener("change", (event) => {
      if (event.target.name === "country") swap();
    });
  }
})();
